"""Folding and matching: one pass finds terms however the text spells them."""

from __future__ import annotations

from pledges.textmatch import Matcher, fold, split_sentences


def found(terms: list[str], text: str) -> list[str]:
    m = Matcher(terms)
    folded, offsets = fold(text)
    return [text[h.start : h.end] for h in m.find(folded, offsets)]


def test_case_hyphens_and_possessives_fold_away() -> None:
    text = "AMAZON's Face-Recognition tool; the amazon’s face recognition."
    assert found(["Amazon", "face recognition"], text) == [
        "AMAZON",
        "Face-Recognition",
        "amazon",
        "face recognition",
    ]


def test_plurals_and_simple_inflections_match_the_base_form() -> None:
    text = "It denied the claims, scrapped targets, was retiring goals and scales back pledges."
    assert found(["deny", "scrap", "retire", "scale back", "target", "pledge"], text) == [
        "denied",
        "scrapped",
        "targets",
        "retiring",
        "scales back",
        "pledges",
    ]


def test_matches_are_whole_words() -> None:
    assert found(["ban", "AI"], "An urban plan for said banking; AI wins.") == ["AI"]


def test_accents_fold_so_spellings_meet() -> None:
    assert found(["Nestle"], "Nestlé said so.") == ["Nestlé"]


def test_offsets_point_into_the_original_text() -> None:
    text = "  Über—Police   use of «face matching»!"
    spans = [(h.start, h.end) for h in Matcher(["police", "face matching"]).find(*fold(text))]
    assert [text[a:b] for a, b in spans] == ["Police", "face matching"]


def test_sentences_split_on_ends_but_not_abbreviations() -> None:
    text = "Mr. Smith met U.S. police. They said no! Then: 'fine.' Done"
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["Mr. Smith met U.S. police.", "They said no!", "Then: 'fine.'", "Done"]


def test_text_in_other_scripts_does_not_break_matching() -> None:
    text = "亚马逊 Amazon الشرطة police 警察"
    assert found(["Amazon", "police"], text) == ["Amazon", "police"]
