"""The models' readings of an article's words (rollback or breach; a report at all):
learned, bounded, explained, checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pledges.detect import Detector
from pledges.fitted import load_model, shipped_model
from pledges.kindwords import (
    ARTICLE_CHARS,
    CLIP,
    FEATURE,
    REPORT_FEATURE,
    REPORT_READING,
    KindWords,
    article_terms,
    fit_kind_words,
    is_content,
    pledge_topic,
    shown,
    without_topic,
)
from pledges.model import LinearModel, ModelError
from pledges.models import PledgeIn
from pledges.score import FEATURES, KIND_FEATURES

ROLLBACK = "Company scraps its promise and quietly drops the plan"
BREACH = "Regulator fines the company after inspectors found violations"


def _reports(n: int = 4) -> tuple[list[frozenset[str]], list[bool], list[str]]:
    """Rollback and breach reports from four sources, each with a word of its own."""
    articles, rollback, sources = [], [], []
    for i in range(n):
        for text, is_rollback in ((ROLLBACK, True), (BREACH, False)):
            articles.append(article_terms(f"{text} story{i}", ""))
            rollback.append(is_rollback)
            sources.append(f"corpus-{i}")
    return articles, rollback, sources


def test_terms_are_lower_case_words_and_word_pairs_of_headline_and_opening() -> None:
    terms = article_terms(
        "Brewer SCRAPS Pledge", "It\u2019s gone. " + "x " * ARTICLE_CHARS + "late"
    )
    assert {"brewer", "scraps", "pledge", "brewer scraps", "scraps pledge", "it's"} <= terms
    assert "late" not in terms  # only the opening of a long body is read


def test_a_word_a_negator_reaches_is_read_as_its_negation() -> None:
    terms = article_terms("Audit finds no violation", "Inspectors did not find any breach.")
    assert {"not_violation", "not_find", "not_any", "not_breach"} <= terms
    assert not {"violation", "find", "breach"} & terms
    assert "no not_violation" in terms  # the pair keeps the negator itself


def test_a_negation_reaches_three_words_and_ends_with_its_clause() -> None:
    terms = article_terms("", "It did not say whether the fine stands; regulators fined it.")
    assert {"not_say", "not_whether", "not_the", "fine", "fined"} <= terms
    assert not {"not_fine", "not_fined", "not_regulators"} & terms
    # The headline is a clause of its own.
    assert "breach" in article_terms("Brewer says no", "breach of its promise")


@pytest.mark.parametrize(
    ("term", "reason"),
    [("not_allege", "not allege"), ("no not_violation", "no violation"), ("fined", "fined")],
)
def test_a_reason_names_a_negated_term_in_words(term: str, reason: str) -> None:
    assert shown(term) == reason


def test_fit_learns_which_words_tell_a_rollback_from_a_breach_and_is_reproducible() -> None:
    articles, rollback, sources = _reports()
    words = fit_kind_words(articles, rollback, sources)
    assert words.weights["scraps"] > 0 > words.weights["fines"]
    assert words.reading(article_terms(ROLLBACK, "")) > 0 > words.reading(article_terms(BREACH, ""))
    assert fit_kind_words(articles, rollback, sources) == words


@pytest.mark.parametrize(
    ("term", "content"),
    [
        ("scraps", True),
        ("quietly drops", True),
        ("not_violation", True),  # what a negator reaches is read for what it is
        ("no not_violation", False),
        ("that", False),
        ("only that", False),
        ("claims that", False),
    ],
)
def test_a_content_term_holds_no_function_word(term: str, content: bool) -> None:
    assert is_content(term) is content


def test_function_words_weigh_in_the_reading_but_reasons_name_content_terms() -> None:
    articles, rollback, sources = _reports()
    words = fit_kind_words(articles, rollback, sources)
    assert {"its", "scraps its", "after"} <= set(words.weights)
    value, leans_rollback, leans_breach = words.read_terms(article_terms(ROLLBACK, ""))
    assert value == words.reading(article_terms(ROLLBACK, ""))
    assert leans_rollback and all(is_content(t) for t in leans_rollback + leans_breach)
    assert not {"its", "scraps its", "and", "the plan"} & {*leans_rollback, *leans_breach}


def test_a_pledges_topic_is_the_words_of_its_own_texts() -> None:
    topic = pledge_topic(AMAZON)
    assert {"amazon", "rekognition", "moratorium", "facial", "recognition", "police"} <= topic
    assert {"paused", "service"} <= topic  # from the statement
    assert "breach" not in topic


def test_a_term_made_only_of_topic_words_is_left_out_of_the_reading() -> None:
    terms = article_terms(
        "Amazon facial recognition used by police despite pause", "No police use was found."
    )
    seen = without_topic(terms, pledge_topic(AMAZON))
    assert {"facial recognition", "amazon", "police", "not_police", "not_police not_use"} & terms
    assert not {"facial recognition", "amazon", "police", "not_police", "facial"} & seen
    assert {"despite", "despite pause", "by police"} <= seen  # one word of its own is enough
    assert without_topic(terms, frozenset()) == terms


def test_a_word_from_too_few_sources_is_not_learned() -> None:
    articles, rollback, sources = _reports()
    # "story0" appears in one corpus only, in both kinds of report; a word one corpus
    # uses for its own topic must not carry over to pledges it never saw.
    words = fit_kind_words(articles, rollback, sources)
    assert not any(t.startswith("story") for t in words.weights)
    only_two = fit_kind_words(articles[:4], rollback[:4], sources[:4])
    assert only_two.weights == {}


def test_the_reading_is_clipped_and_explained_by_the_terms_that_lean() -> None:
    words = KindWords(0.0, {"scraps": 3.0, "drops": 2.5, "fined": -1.0})
    assert words.reading({"scraps", "drops"}) == CLIP
    _, rollback, breach = words.read_terms({"scraps", "drops", "fined", "other"})
    assert rollback == ["scraps", "drops"] and breach == ["fined"]


def test_no_labelled_reports_fit_an_empty_reading() -> None:
    assert fit_kind_words([], [], []) == KindWords()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({"bias": 0, "weights": {"x": "high"}}, "kind_words.weights"),
        ({"weights": {}}, "kind_words.bias"),
    ],
)
def test_a_bad_vocabulary_says_which_field_is_wrong(data: object, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        KindWords.from_dict(data)


def test_a_model_file_with_a_damaged_vocabulary_falls_back_to_the_shipped_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = LinearModel(
        "fitted-x", {"breach": 1.0}, 0.0, 0.5, {"kind_words": {"bias": "?", "weights": {}}}
    )
    path = tmp_path / "model.json"
    path.write_text(bad.to_json(), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_model(path) == shipped_model()
    assert "kind_words.bias" in caplog.text


def test_the_reading_is_a_kind_feature() -> None:
    assert FEATURE in KIND_FEATURES


AMAZON = PledgeIn.model_validate(
    {
        "id": "amazon-rekognition-police-moratorium",
        "company": {"name": "Amazon", "products": ["Rekognition"]},
        "title": "Moratorium on police use of Rekognition facial recognition",
        "kind": "moratorium",
        "statement": "Amazon paused police use of Rekognition, its facial recognition service.",
        "made_on": "2020-06-10",
        "status": "active",
        "subject": ["facial recognition"],
        "scope": ["police"],
        "sources": ["https://example.org/a"],
    }
)
HEADLINE = "Amazon ends its moratorium on police use of Rekognition facial recognition"


def _detector(words: KindWords, kind_weight: float) -> Detector:
    base = shipped_model()
    kind = {"bias": 0.0, "weights": {FEATURE: kind_weight}}
    model = LinearModel(
        "fitted-test",
        base.weights,
        base.bias,
        base.threshold,
        {"kind": kind, "kind_words": words.to_dict()},
    )
    return Detector.compile([AMAZON], model=model)


def test_the_words_reading_turns_the_kind_and_says_which_words_did() -> None:
    rollback_words = KindWords(0.0, {"ends": 2.0})
    (finding,) = _detector(rollback_words, 1.0).scan(HEADLINE, "", None)
    assert finding.kind == "rollback"
    assert "its wording leans to a rollback: ends" in finding.reasons
    breach_words = KindWords(0.0, {"ends": -2.0})
    (finding,) = _detector(breach_words, 1.0).scan(HEADLINE, "", None)
    assert finding.kind == "breach"
    assert "its wording leans to a breach: ends" in finding.reasons


def test_reading_an_article_once_gives_its_value_and_the_terms_that_lean() -> None:
    articles, rollback, sources = _reports()
    words = fit_kind_words(articles, rollback, sources)
    terms = article_terms("Firm scraps its plan, then scraps it again", "Regulator fines the firm.")
    value, leans_rollback, leans_breach = words.read_terms(terms)
    assert value == words.reading(terms)
    assert "scraps" in leans_rollback and "fines" in leans_breach
    assert all(words.weights[t] > 0 for t in leans_rollback)
    assert all(words.weights[t] < 0 for t in leans_breach)


def _reporting(words: KindWords) -> Detector:
    """Scores a tie by the article's report reading alone (no cue needed)."""
    model = LinearModel(
        "fitted-report",
        {"tie_sentence": 1.0, REPORT_FEATURE: 2.0},
        -1.5,
        0.5,
        {"report_words": words.to_dict()},
    )
    return Detector.compile([AMAZON], model=model)


QUIET = (
    "Officers in Leeds put Amazon facial recognition to work",
    "Officers ran Amazon facial recognition on footage of the march last spring, a council "
    "paper shows.",
)


def test_a_tie_without_any_cue_is_flagged_when_its_words_read_as_a_report() -> None:
    reads_as_report = KindWords(0.0, {"paper shows": 2.0, "officers": 0.5})
    (finding,) = _reporting(reads_as_report).scan(*QUIET, None)
    assert "no breach or rollback word near the tie" in finding.reasons
    assert (
        "its wording reads like a report of a breach or rollback: paper shows, officers"
        in finding.reasons
    )
    assert _reporting(KindWords(0.0, {"paper shows": -2.0})).scan(*QUIET, None) == []


def test_a_report_reading_fitted_without_topic_ignores_the_pledges_own_words() -> None:
    # "facial recognition" is the pledge's own subject: a model whose report vocabulary
    # was fitted without topics must not read it, one fitted before them still does.
    words = KindWords(0.0, {"facial recognition": 3.0, "paper shows": 0.1})
    model = LinearModel(
        "fitted-report",
        {"tie_sentence": 1.0, REPORT_FEATURE: 2.0},
        -1.5,
        0.5,
        {"report_words": words.to_dict(), "report_reading": REPORT_READING},
    )
    assert Detector.compile([AMAZON], model=model).scan(*QUIET, None) == []
    (finding,) = _reporting(words).scan(*QUIET, None)
    assert "report of a breach or rollback: facial recognition, paper shows" in str(finding.reasons)


def test_a_damaged_report_vocabulary_falls_back_to_the_shipped_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = LinearModel("fitted-x", {"breach": 1.0}, 0.0, 0.5, {"report_words": {"weights": {}}})
    path = tmp_path / "model.json"
    path.write_text(bad.to_json(), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_model(path) == shipped_model()
    assert "report_words.bias" in caplog.text


def test_the_report_reading_is_a_flag_feature() -> None:
    assert REPORT_FEATURE in FEATURES
