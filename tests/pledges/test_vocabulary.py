"""The pledge's own words and both spellings of English find reports its subject list misses."""

from __future__ import annotations

from datetime import date

import pytest

from pledges.detect import Detector, Finding
from pledges.lexicon import EQUIVALENT
from pledges.models import PledgeIn
from pledges.textmatch import spellings
from pledges.vocabulary import (
    DERIVED_MAX,
    compile_catalogue,
    core_words,
    pooled_words,
    short_names,
)
from tests.pledges.test_detect import day, pledge
from tests.steps import steps

PAC = pledge(
    id="acme-pac-objectors",
    company={"name": "Acme Corp", "aliases": ["Acme"]},
    title="Suspend PAC contributions to election objectors",
    kind="policy",
    statement=(
        "Acme said its political action committee would stop donations to lawmakers who "
        "voted against certifying the presidential election results, CEO Jane Doe wrote."
    ),
    made_on="2021-01-11",
    subject=["PAC contributions"],
    scope=["election objectors"],
    history=[],
)
REPORT = (
    "Acme resumes giving to lawmakers",
    "Acme's committee quietly resumed donations to lawmakers who voted against "
    "certifying the election, despite its pledge, filings show.",
)


def test_a_report_in_the_pledges_own_words_is_tied_and_says_which_words_matched() -> None:
    [c] = Detector.compile([PAC]).candidates(*REPORT, day("2022-06-01"))
    assert "own_words_only" in c.features
    [reason] = [r for r in c.reasons if "own words" in r]
    assert "donations (statement)" in reason and "lawmakers (statement)" in reason


def test_names_numbers_and_general_words_are_not_taken_from_the_statement() -> None:
    [p] = compile_catalogue([PAC]).pledges
    words = dict(p.derived)
    assert words["contributions"] == "title" and words["donations"] == "statement"
    assert not {"jane", "doe", "said", "would", "acme", "corp"} & set(words)


def test_the_subject_loses_nothing_when_a_pledge_has_its_own_words() -> None:
    # The own-words tie is only used when the subject itself is not found.
    text = ("Acme Corp halts PAC contributions", "Acme breached its promise on PAC contributions.")
    [c] = Detector.compile([PAC]).candidates(*text, day("2022-06-01"))
    assert "own_words_only" not in c.features and c.features["tie_sentence"] == 1.0


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("labour", "labor"),
        ("colors", "colours"),
        ("organise", "organize"),
        ("organization", "organisation"),
        ("analyse", "analyze"),
        ("centre", "center"),
        ("catalogue", "catalog"),
        ("defence", "defense"),
        ("licence", "license"),
        ("travelled", "traveled"),
        ("programme", "program"),
        ("fulfil", "fulfill"),
    ],
)
def test_british_and_american_spellings_fold_by_rule(word: str, other: str) -> None:
    assert other in spellings(word)


@pytest.mark.parametrize("word", ["four", "hour", "your", "sector", "investor", "rise"])
def test_the_spelling_rules_do_not_turn_words_into_other_words(word: str) -> None:
    assert spellings(word) == [word]


def test_a_british_report_matches_an_american_pledge() -> None:
    child = pledge(
        id="toyco-child-labor",
        company={"name": "ToyCo", "aliases": []},
        title="No child labor in the supply chain",
        kind="policy",
        statement="ToyCo promised to end child labor at its suppliers.",
        made_on="2019-01-01",
        subject=["child labor"],
        scope=[],
        history=[],
    )
    title = "ToyCo supplier used child labour, investigation finds"
    text = "An investigation found child labour at a ToyCo supplier despite its pledge."
    [f] = Detector.compile([child]).scan(title, text, day("2023-03-01"))
    assert f.pledge_id == "toyco-child-labor" and f.kind == "breach"


def test_the_equivalence_table_holds_no_spelling_or_plural_pairs() -> None:
    for word, others in EQUIVALENT.items():
        for other in others:
            assert other not in spellings(word), (word, other)
            assert other.rstrip("s") != word.rstrip("s"), (word, other)


def test_odd_pledges_compile_and_scan_in_bounded_work() -> None:
    long_statement = " ".join(f"word{i % 700}x commitment reducing widgets" for i in range(1250))
    odd = [
        pledge(id="one-word-title", title="Zero", history=[]),
        # The catalogue refuses an empty statement; a stored row may still have one.
        pledge(id="empty-statement", history=[]).model_copy(update={"statement": ""}),
        pledge(id="long-statement", statement=long_statement, history=[]),
    ]

    def shared(n: int) -> list[PledgeIn]:
        """Words shared by `n` pledges of one company."""
        return [
            pledge(
                id=f"amazon-shared-{i}",
                title="Protect customer privacy and data security",
                statement="Amazon will protect customer privacy and the security of data.",
                subject=[f"privacy item {i}"],
                scope=[],
                history=[],
            )
            for i in range(n)
        ]

    text = "Amazon admitted it broke its privacy and data security promise. " * 200

    def work(n: int) -> tuple[int, int]:
        """Steps to compile the odd pledges with `n` sharing words, and to scan one article."""
        pledges = [*odd, *shared(n)]
        built: list[Detector] = []
        compiled = steps(lambda: built.append(Detector.compile(pledges)))
        findings: list[Finding] = []
        scan = "Amazon privacy data security breach", text, day("2024-01-01")
        scanned = steps(lambda: findings.extend(built[0].scan(*scan)))
        assert len(findings) <= len(pledges)
        return compiled, scanned

    Detector.compile(odd)  # what is built once per process is not counted
    counted = {n: work(n) for n in (300, 3000)}
    # Ten times the pledges compile in at most ten times the work (linear, not worse), and
    # an article naming words they all share costs about the same (`MAX_CANDIDATES`).
    assert counted[3000][0] <= 10 * counted[300][0], counted
    assert counted[3000][1] <= 2 * counted[300][1], counted
    cat = compile_catalogue(odd)
    assert all(len(p.derived) <= DERIVED_MAX for p in cat.pledges)


def test_the_core_of_a_subject_is_a_word_all_its_phrases_share() -> None:
    assert core_words(["thermal coal", "coal producers", "coal investments"], set()) == ["coal"]
    # Plural and singular are one word.
    assert core_words(["banned accounts", "account reinstatements"], set()) == ["account"]


def test_no_core_from_one_phrase_a_whole_phrase_general_or_company_words() -> None:
    assert core_words(["thermal coal producers"], set()) == []
    # "coal" is a subject phrase of its own, matched exactly anyway.
    assert core_words(["coal", "thermal coal", "coal producers"], set()) == []
    assert core_words(["global targets", "targets met"], set()) == []
    # A word only some phrases name is one aspect of the subject, not its core.
    assert core_words(["facial recognition", "face recognition", "facial analysis"], set()) == []
    assert core_words(["Acme plants", "Acme farms"], {"acme"}) == []


def test_what_only_a_tied_pledge_needs_is_worked_out_on_first_use() -> None:
    history = [
        {"date": "2021-05-18", "event": "moratorium extended until further notice"},
        {"date": "2023-02-01", "event": "moratorium scaled back to exclude federal agencies"},
    ]
    title = "No police use of Rekognition facial recognition"
    [p] = compile_catalogue([pledge(title=title, history=history)]).pledges
    # Compiling a catalogue leaves these unbuilt: most pledges never get a candidate.
    assert not {"products", "prohibitive", "own_stems", "_history"} & set(vars(p))
    assert p.products == frozenset({"rekognition"})
    assert p.affirm_dates == (date(2021, 5, 18),) and p.weaken_dates == (date(2023, 2, 1),)
    assert p.prohibitive
    assert {"pause", "polic", "recog"} <= p.own_stems


def test_pledges_of_one_company_share_its_names_and_keep_their_own_aliases() -> None:
    a = pledge(id="a", company={"name": "Acme Corp", "aliases": ["Acme"]}, history=[])
    b = pledge(id="b", company={"name": "Acme Corp", "aliases": ["ACM"]}, history=[])
    cat = compile_catalogue([a, b])
    assert {cat.pledges[0].company} == {cat.pledges[1].company}
    for name in ("acme corp", "acme", "acm"):
        term = cat.terms[cat.matcher.terms.index(name)]
        assert term.companies == {cat.pledges[0].company}
    assert {"acme corp", "acme", "acm"} <= set(cat.gate.terms)


def test_the_pooled_subject_words_are_every_phrase_content_word_once() -> None:
    pooled = pooled_words(["election objectors", "PAC contributions", "objector lawmakers"], set())
    assert pooled == ["election", "objector", "pac", "contribution", "lawmaker"]


def test_one_word_in_two_forms_is_pooled_once() -> None:
    assert pooled_words(["facial recognition", "face recognition"], set()) == [
        "facial",
        "recognition",
    ]


def test_no_pool_from_one_phrase_or_from_company_and_general_words() -> None:
    assert pooled_words(["PAC contributions"], set()) == []
    assert pooled_words(["CarCo PAC", "company policy"], {"carco", "pac"}) == []


def test_news_short_forms_drop_corporate_suffixes_and_industry_tails() -> None:
    assert short_names("Delta Air Lines") == ["Delta"]
    assert short_names("P&O Ferries") == ["P&O"]
    assert short_names("Volvo Cars") == ["Volvo"]
    assert short_names("Carnival Cruise Line") == ["Carnival"]
    assert short_names("Acme Holdings plc") == ["Acme"]


def test_no_short_form_that_is_an_everyday_word_or_already_a_name() -> None:
    assert short_names("Target Corporation") == []
    assert short_names("Volvo Cars", ["Volvo"]) == []
