"""A name from the pledge's own text (a site, brand, place or person) stands in for its
company when a report does not name the company."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pledges.detect import Detector
from pledges.vocabulary import (
    NAMES_MAX,
    common_names,
    compile_catalogue,
    load_common_names,
    pledge_names,
    text_names,
)
from tests.pledges.test_detect import day, pledge
from tests.steps import steps

STEEL = pledge(
    id="ironco-green-steel-2025",
    company={"name": "Ironco Steel Group", "aliases": ["Ironco"], "products": []},
    title="Replace the blast furnace at Kelmarsh with an electric arc furnace by 2025",
    kind="target",
    statement=(
        "Ironco said its Kelmarsh works would switch to an electric arc furnace by 2025, "
        "cutting emissions from steelmaking there by 90%, as chairman Arvid Quellan put it."
    ),
    made_on="2021-03-01",
    subject=["electric arc furnace", "green steel"],
    scope=["Kelmarsh"],
    history=[],
)
SLIP = (
    "Kelmarsh electric arc furnace slips to 2028",
    "The new electric arc furnace at Kelmarsh will not be ready until 2028, three years "
    "later than promised, the steelworks' owner said.",
)


def test_a_report_naming_only_the_pledges_site_is_tied_and_says_which_name_matched() -> None:
    [c] = Detector.compile([STEEL]).candidates(*SLIP, day("2023-05-01"))
    assert c.features["company_by_name"] == 1.0
    [reason] = [r for r in c.reasons if "not named" in r]
    assert "kelmarsh (from its title)" in reason


def test_the_name_is_shown_as_the_company_in_the_evidence() -> None:
    [finding] = Detector.compile([STEEL]).scan(*SLIP, day("2023-05-01"))
    roles = {s.text.lower(): s.role for e in finding.evidence for s in e.spans}
    assert roles["kelmarsh"] == "company"


def test_a_report_naming_another_company_of_the_catalogue_is_not_tied_by_name() -> None:
    other = pledge(
        id="rivalco-jobs",
        company={"name": "Rivalco", "aliases": [], "products": []},
        title="Keep every job at its mills",
        kind="policy",
        statement="Rivalco promised to keep every job.",
        made_on="2020-01-01",
        subject=["jobs"],
        scope=[],
        history=[],
    )
    title, text = SLIP
    detector = Detector.compile([STEEL, other])
    text += " Rivalco, which runs a mill nearby, said it would cut jobs."
    found = detector.candidates(title, text, day("2023-05-01"))
    assert "ironco-green-steel-2025" not in {detector.pledge_id(c.pledge) for c in found}


def test_a_named_company_is_tied_as_before_without_the_name_feature() -> None:
    report = ("Ironco delays electric arc furnace", "Ironco pushed its Kelmarsh furnace back.")
    [c] = Detector.compile([STEEL]).candidates(*report, day("2023-05-01"))
    assert "company_by_name" not in c.features


def test_a_name_the_pledges_of_two_companies_use_stands_for_neither() -> None:
    twin = pledge(
        id="otherco-kelmarsh-furnace",
        company={"name": "Otherco", "aliases": [], "products": []},
        title="Build a furnace at Kelmarsh",
        kind="target",
        statement="Otherco said it would build an electric arc furnace near Kelmarsh.",
        made_on="2021-03-01",
        subject=["electric arc furnace"],
        scope=[],
        history=[],
    )
    compiled = compile_catalogue([STEEL, twin])
    assert all("kelmarsh" not in dict(p.names) for p in compiled.pledges)


def test_names_come_from_the_pledges_text_without_its_company_or_its_everyday_words() -> None:
    names = dict(pledge_names(STEEL, {"ironco", "steel", "group"}, frozenset()))
    assert names["kelmarsh"] == "title"
    assert names["arvid quellan"] == "statement"
    # "Replace" opens the title; "Ironco" is the company's own name.
    assert not {"replace", "ironco", "ironco steel group"} & set(names)


def test_names_that_reports_of_many_fields_use_are_left_out() -> None:
    names = dict(pledge_names(STEEL, {"ironco"}, frozenset({"kelmarsh"})))
    assert "kelmarsh" not in names and "arvid quellan" in names


def test_a_sentences_first_word_is_a_name_only_when_the_text_capitalises_it_inside_one() -> None:
    assert text_names("Whyalla's furnace is late. The plant at Whyalla is old.") == [
        "whyalla",
        "whyalla",
    ]
    assert text_names("Delays hit the plant. Workers at Scunthorpe walked out.") == ["scunthorpe"]


def test_a_title_in_title_case_gives_no_names() -> None:
    titled = pledge(
        id="ironco-title-case",
        company={"name": "Ironco", "aliases": [], "products": []},
        title="Replace The Blast Furnace With An Electric Arc Furnace",
        kind="target",
        statement="The company promised a new furnace.",
        made_on="2021-03-01",
        subject=["electric arc furnace"],
        scope=[],
        history=[],
    )
    assert pledge_names(titled, {"ironco"}, frozenset()) == []


def _named(pairs: int) -> list[tuple[str, str]]:
    statement = " ".join(f"Plant{i} Site{i} opened." for i in range(pairs))
    big = pledge(
        id="ironco-huge",
        company={"name": "Ironco", "aliases": [], "products": []},
        title="A pledge",
        kind="policy",
        statement=statement,
        made_on="2021-03-01",
        subject=["furnace"],
        scope=[],
        history=[],
    )
    return pledge_names(big, {"ironco"}, frozenset())


def test_a_5000_word_statement_adds_a_bounded_number_of_names_in_bounded_work() -> None:
    assert len(_named(2_500)) <= NAMES_MAX
    small, big = steps(lambda: _named(250)), steps(lambda: _named(2_500))
    assert big < small * 10 * 2  # 10x the words: at most linear, nowhere near quadratic


@pytest.mark.parametrize(
    "body",
    ["", "not json", json.dumps({"names": "kelmarsh"}), json.dumps({"names": [1, 2]}), "[]"],
)
def test_a_damaged_names_file_gives_no_names_with_a_warning(
    tmp_path: Path, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "names.json"
    path.write_text(body, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_common_names(path) == frozenset()
    assert "unusable" in caplog.text


def test_a_missing_names_file_gives_no_names(tmp_path: Path) -> None:
    assert load_common_names(tmp_path / "absent.json") == frozenset()


def test_the_shipped_list_holds_everyday_words_and_names_of_many_fields() -> None:
    shipped = common_names()
    assert {"the", "said", "company"} <= shipped
    assert "whyalla" not in shipped


def test_a_name_opening_a_sentence_is_read_with_and_without_its_first_word() -> None:
    assert text_names("Whole Foods Market said so.") == ["foods market", "whole foods market"]
    assert text_names("Workers at The Kelmarsh Works struck.") == ["kelmarsh works"]
