"""Folding and matching: one pass finds terms however the text spells them."""

from __future__ import annotations

from pledges.textmatch import Matcher, collapse, fold, fold_spaced, split_sentences


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


def test_line_breaks_end_sentences_except_after_an_abbreviation() -> None:
    text = "Acme Corp.\nits unit\n\nNext line. Wait... Then"
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["Acme Corp.\nits unit", "Next line.", "Wait...", "Then"]


def test_text_in_other_scripts_does_not_break_matching() -> None:
    text = "亚马逊 Amazon الشرطة police 警察"
    assert found(["Amazon", "police"], text) == ["Amazon", "police"]


TEXTS = [
    "",
    "   ",
    "Amazon",
    "  Über—Police   use of «face matching»!\n\nNew line.",
    "AT&T and Johnson & Johnson, (again)   and  again...",
    "亚马逊 Amazon الشرطة police 警察",
]


def test_folding_in_two_steps_is_folding_in_one() -> None:
    for text in TEXTS:
        spaced = fold_spaced(text)
        assert len(spaced) == len(text) + 2  # one character for one, and the padding
        assert collapse(spaced, len(text))[0] == fold(text)[0]


def test_offsets_map_every_folded_position_back_to_its_character() -> None:
    for text in TEXTS:
        folded, offsets = fold(text)
        # Where each folded character came from, counted out by hand: the first space of
        # a run stays, the rest are dropped; the padding maps to the nearest end.
        spaced = fold_spaced(text)
        origin = [
            min(max(j - 1, 0), len(text))
            for j, ch in enumerate(spaced)
            if not (ch == " " and j and spaced[j - 1] == " ")
        ]
        assert len(origin) == len(folded)
        pairs = [(a, b) for a in range(len(folded)) for b in (a, len(folded) - 1)]
        assert offsets.spans(pairs) == [(origin[a], origin[b] + 1) for a, b in pairs]


def test_matches_found_before_mapping_are_the_hits_after_it() -> None:
    m = Matcher(["police", "face matching", "amazon"])
    for text in TEXTS:
        folded, offsets = fold(text)
        found = m.find_folded(folded)
        assert m.hits(found, offsets) == m.find(folded, offsets)
        assert [h.term for h in m.find(folded, offsets)] == [i for i, _, _ in found]


def test_a_word_is_found_whether_or_not_spaces_were_collapsed() -> None:
    m = Matcher(["johnson", "police"])
    for text in ["Johnson & Johnson said", "the police, (again)", "POLICE!"]:
        assert m.any(fold_spaced(text)) == m.any(fold(text)[0]) is True
