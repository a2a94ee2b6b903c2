"""Text normalisation, sentence splitting and one-pass multi-pattern matching (pure).

Text is folded to a canonical form (lower case, any run of non-alphanumerics becomes
one space) with a map back to original offsets, so one Aho-Corasick automaton can find
every catalogue term and cue in a single pass however the text spells hyphens,
possessives and case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

# Endings accepted after a term so plurals and simple inflections match the base form.
INFLECTIONS = ("", "s", "es", "ed", "d", "ing", "ning", "ned", "n")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u2019\u201d)]*\s+(?=[\"'\u2018\u201c(]?[A-Z0-9])|\n+")
# Abbreviations that end in a period without ending a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Inc|Corp|Co|Ltd|Jr|Sr|No|vs|U\.S|U\.K|e\.g|i\.e)\.|\b[A-Z]\.)$"
)


def fold(text: str) -> tuple[str, list[int]]:
    """Canonical form of `text` and, per folded char, its offset in `text`."""
    out: list[str] = [" "]
    offsets: list[int] = [0]
    prev_space = True
    for i, ch in enumerate(text):
        if ch.isalnum():
            low = ch.lower()
            if len(low) != 1 or not low.isascii():
                # Strip accents so "Nestlé" and "Nestle" meet; keep other scripts as they are.
                base = unicodedata.normalize("NFKD", low)
                low = "".join(c for c in base if not unicodedata.combining(c)) or low
                low = low[0]
            out.append(low)
            offsets.append(i)
            prev_space = False
        elif not prev_space:
            out.append(" ")
            offsets.append(i)
            prev_space = True
    if not prev_space:
        out.append(" ")
        offsets.append(len(text))
    return "".join(out), offsets


def fold_term(term: str) -> str:
    """Canonical form of a catalogue term or cue (no padding)."""
    return fold(term)[0].strip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries in `text` as (start, end) offsets."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREV.search(text[max(start, m.start() - 6) : m.start()]):
            continue
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _variants(folded: str) -> list[str]:
    """Spellings of a term's inflected forms that do not start with the term itself."""
    out = [folded]
    first, _, rest = folded.partition(" ")
    if rest:
        # Inflect the verb of a phrase too: "scale back" -> "scales back", "scaled back".
        forms = {first + "s", first + "es", first + "ed", first + "ing"}
        if first.endswith("e"):
            forms |= {first + "d", first[:-1] + "ing"}
        if first.endswith("y") and len(first) > 2 and first[-2] not in "aeiou":
            forms |= {first[:-1] + "ies", first[:-1] + "ied"}
        if len(first) > 2 and first[-1] not in "aeiouwxy" and first[-2] in "aeiou":
            forms |= {first + first[-1] + "ed", first + first[-1] + "ing"}
        out += [f"{form} {rest}" for form in sorted(forms)]
    last = folded.rsplit(" ", 1)[-1]
    if len(last) > 2 and last.endswith("e") and last[-2] not in "aeiou":
        out.append(folded[:-1] + "ing")  # retire -> retiring
    if len(last) > 2 and last.endswith("y") and last[-2] not in "aeiou":
        out += [folded[:-1] + "ies", folded[:-1] + "ied"]  # deny -> denies, denied
    return out


@dataclass(frozen=True)
class Hit:
    """A matched term: original-text offsets and the payload index of the term."""

    start: int
    end: int
    term: int


class Matcher:
    """One automaton over many terms; `find` returns whole-word hits in one pass."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms: list[str] = []
        self._index: dict[str, int] = {}
        self._auto = ahocorasick.Automaton()
        for term in terms:
            folded = fold_term(term)
            if not folded or folded in self._index:
                continue
            idx = len(self.terms)
            self._index[folded] = idx
            self.terms.append(folded)
            for variant in _variants(folded):
                if variant not in self._auto:
                    self._auto.add_word(" " + variant, (idx, len(variant) + 1))
        if self.terms:
            self._auto.make_automaton()

    def index_of(self, term: str) -> int | None:
        return self._index.get(fold_term(term))

    def find(self, folded: str, offsets: list[int]) -> list[Hit]:
        """Hits in a folded text (from `fold`), as offsets into the original text."""
        if not self.terms:
            return []
        hits: list[Hit] = []
        for end, (idx, length) in self._auto.iter(folded):
            start = end - length + 1  # index of the leading space
            tail_start = end + 1
            tail_end = folded.find(" ", tail_start)
            if tail_end < 0:
                continue
            tail = folded[tail_start:tail_end]
            if tail not in INFLECTIONS and not (
                # consonant doubling: scrap -> scrapped, ban -> banning
                len(tail) > 1 and tail[0] == folded[end] and tail[1:] in ("ed", "ing", "er")
            ):
                continue
            o_start = offsets[start + 1]
            o_end = offsets[tail_end - 1] + 1
            hits.append(Hit(o_start, o_end, idx))
        return hits
