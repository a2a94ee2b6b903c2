"""Text normalisation, sentence splitting and one-pass multi-pattern matching (pure).

Text is folded to a canonical form (lower case, any run of non-alphanumerics becomes
one space) with a map back to original offsets, so one Aho-Corasick automaton can find
every catalogue term and cue in a single pass however the text spells hyphens,
possessives and case.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import ahocorasick

# Endings accepted after a term so plurals and simple inflections match the base form.
INFLECTIONS = ("", "s", "es", "ed", "d", "ing", "ning", "ned", "n")
# A stop, the quotes or brackets closing after it, then space before a capital or digit;
# or a line break. Matched from the stop itself (a look-behind would be tried at every
# position of the text).
_SENTENCE_END = re.compile(r"[.!?]([\"'\u2019\u201d)]*)\s+(?=[\"'\u2018\u201c(]?[A-Z0-9])|\n+")
# Abbreviations that end in a period without ending a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Inc|Corp|Co|Ltd|Jr|Sr|No|vs|U\.S|U\.K|e\.g|i\.e)\.|\b[A-Z]\.)$"
)


_SPACES = re.compile(" {2,}")
# ASCII: letters and digits fold to lower case, everything else to a space.
_ASCII_TABLE: dict[int, str] = {
    i: (chr(i).lower() if chr(i).isalnum() else " ") for i in range(128)
}
_CHAR_CACHE: dict[int, str] = {}


def _fold_char(ch: str) -> str:
    """One character folded to one character: lower case, accents stripped, or a space."""
    if not ch.isalnum():
        return " "
    low = ch.lower()
    # Strip accents so "Nestlé" and "Nestle" meet; keep other scripts as they are.
    base = unicodedata.normalize("NFKD", low)
    low = "".join(c for c in base if not unicodedata.combining(c)) or low
    return low[0]


class Offsets:
    """Maps a position in folded text back to the original text.

    Built lazily: most articles never need it (no catalogue company in them), and the
    map costs a Python step per collapsed run of spaces.
    """

    __slots__ = ("_padded", "_breaks", "_shifts", "_limit")

    def __init__(self, padded: str, limit: int) -> None:
        self._padded = padded
        self._breaks: list[int] | None = None  # folded positions where a run ended
        self._shifts: list[int] = []  # characters removed up to and including that run
        self._limit = limit

    def _build(self) -> list[int]:
        breaks: list[int] = []
        removed = 0
        for m in _SPACES.finditer(self._padded):
            breaks.append(m.start() + 1 - removed)
            removed += m.end() - m.start() - 1
            self._shifts.append(removed)
        self._breaks = breaks
        return breaks

    def spans(self, folded: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Original (start, end) of each folded (first, last) character pair, in one loop
        (a scan maps dozens of hits; one call per position cost more than the mapping)."""
        breaks = self._breaks if self._breaks is not None else self._build()
        shifts, limit = self._shifts, self._limit
        out = []
        for first, last in folded:
            k = bisect_right(breaks, first)
            a = first + (shifts[k - 1] if k else 0) - 1
            k = bisect_right(breaks, last)
            b = last + (shifts[k - 1] if k else 0) - 1
            out.append((0 if a < 0 else min(a, limit), (0 if b < 0 else min(b, limit)) + 1))
        return out


def fold(text: str) -> tuple[str, Offsets]:
    """Canonical form of `text` (padded with spaces) and a map back to its offsets.

    Each character folds to exactly one (so positions only move where runs of spaces
    collapse), which keeps folding a few C-level passes instead of a Python loop.
    """
    return collapse(fold_spaced(text), len(text))


def fold_spaced(text: str) -> str:
    """`text` folded character by character, padded, its runs of spaces left as they are:
    whole words can be looked up in it already (`Matcher.any`), phrases not yet."""
    table = _ASCII_TABLE
    if not text.isascii():
        table = dict(_ASCII_TABLE)
        for ch in set(text):
            code = ord(ch)
            if code >= 128:
                folded_ch = _CHAR_CACHE.get(code)
                if folded_ch is None:
                    folded_ch = _CHAR_CACHE.setdefault(code, _fold_char(ch))
                table[code] = folded_ch
    return " " + text.translate(table) + " "


def collapse(padded: str, length: int) -> tuple[str, Offsets]:
    """`fold` of a text of `length` characters from its `fold_spaced` form."""
    # Only letters, digits and spaces are left: collapsing runs of spaces is a split
    # and a join (faster than a regular expression over the whole text).
    body = " ".join(padded.split())
    return (f" {body} " if body else " "), Offsets(padded, length)


@lru_cache(maxsize=1 << 16)
def fold_term(term: str) -> str:
    """Canonical form of a catalogue term or cue (no padding)."""
    return fold(term)[0].strip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries in `text` as (start, end) offsets."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        closing = m.group(1)
        if closing is None:  # a line break
            end = m.start()
            dot = end - 1
        else:
            dot = m.start()
            end = dot + 1 + len(closing)
        # An abbreviation ends in a period, not in "!", "?" or a break.
        if text[dot : dot + 1] == "." and _ABBREV.search(text[max(start, dot - 5) : dot + 1]):
            continue
        if text[start:end].strip():
            spans.append((start, end))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


# British and American spellings of one word as (British ending, American ending):
# labour/labor, organise/organize, analyse/analyze, defence/defense, licence/license,
# travelled/traveled, fulfil/fulfill both ways; centre/center, catalogue/catalog,
# programme/program from British to American only (the American endings -ter, -og, -am
# end too many unrelated words).
_BOTH_WAYS = (
    ("our", "or"),
    ("ours", "ors"),
    ("oured", "ored"),
    ("ouring", "oring"),
    ("ourable", "orable"),
    ("ise", "ize"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("ising", "izing"),
    ("isation", "ization"),
    ("isations", "izations"),
    ("yse", "yze"),
    ("ysed", "yzed"),
    ("ysing", "yzing"),
    ("fence", "fense"),
    ("fences", "fenses"),
    ("cence", "cense"),
    ("cences", "censes"),
    ("elled", "eled"),
    ("elling", "eling"),
    ("eller", "eler"),
    ("ulfil", "ulfill"),
    ("ulfilment", "ulfillment"),
    ("nrol", "nroll"),
    ("nrolment", "nrollment"),
)
_TO_AMERICAN = (
    ("tre", "ter"),
    ("tres", "ters"),
    ("bre", "ber"),
    ("bres", "bers"),
    ("ogue", "og"),
    ("ogues", "ogs"),
    ("amme", "am"),
    ("ammes", "ams"),
)
# Everyday words those endings would turn into other real words (four -> for).
_SPELLING_KEEP = frozenset(
    "four fours your yours hour hours tour tours pour pours sour flour dour detour "
    "rise wise size seize raise".split()
)
# "-or" words that are not British "-our" words (actor, sector, error, taxor...).
_NOT_OUR = ("tor", "sor", "cor", "ror", "xor")


_ENDINGS = re.compile(
    "(?:"
    + "|".join(sorted({e for pair in (*_BOTH_WAYS, *_TO_AMERICAN) for e in pair}, key=len))
    + ")$"
)


@lru_cache(maxsize=1 << 16)
def spellings(word: str) -> list[str]:
    """The word with British and American endings swapped (itself first).

    A rule set, not a word list grown per corpus: every word with one of the endings
    gets the other spelling. A spelling no one uses costs one automaton entry and never
    matches; the few everyday words the rules would turn into other words are kept.
    """
    out = [word]
    if word in _SPELLING_KEEP or len(word) < 4 or _ENDINGS.search(word) is None:
        return out
    pairs = [(a, b) for a, b in _BOTH_WAYS] + [(b, a) for a, b in _BOTH_WAYS]
    for a, b in [*pairs, *_TO_AMERICAN]:
        if word.endswith(a) and len(word) > len(a):
            if a.startswith("or") and word[: len(word) - len(a) + 2].endswith(_NOT_OUR):
                continue
            other = word[: -len(a)] + b
            if other not in out:
                out.append(other)
    return out


def spelling_variants(folded: str) -> list[str]:
    """A folded phrase in every British/American spelling of its words (at most 4)."""
    forms = [""]
    for word in folded.split():
        forms = [f"{f} {w}".strip() for f in forms for w in spellings(word)][:4]
    return forms


@lru_cache(maxsize=1 << 16)
def _variants(folded: str) -> tuple[str, ...]:
    """Spellings of a term's inflected forms that do not start with the term itself.

    Cached: a catalogue's company names go into both the gate and the main automaton.
    """
    out = []
    for spelled in spelling_variants(folded):
        out += _inflected(spelled)
    return tuple(dict.fromkeys(out))


def _inflected(folded: str) -> list[str]:
    out = [folded]
    first, _, rest = folded.partition(" ")
    if rest:
        # Inflect the verb of a phrase too: "scale back" -> "scales back", "scaled back".
        forms = {first + "s", first + "es", first + "ed", first + "ing"}
        if first.endswith("e"):
            forms |= {first + "d"}
            if first[-2:-1] not in ("e", "o", "y"):
                forms.add(first[:-1] + "ing")
        if first.endswith("y") and len(first) > 2 and first[-2] not in "aeiou":
            forms |= {first[:-1] + "ies", first[:-1] + "ied"}
        if len(first) > 2 and first[-1] not in "aeiouwxy" and first[-2] in "aeiou":
            forms |= {first + first[-1] + "ed", first + first[-1] + "ing"}
        out += [f"{form} {rest}" for form in sorted(forms)]
    last = folded.rsplit(" ", 1)[-1]
    if len(last) > 2 and last.endswith("e") and last[-2] not in "eoy":
        out.append(folded[:-1] + "ing")  # retire -> retiring, discontinue -> discontinuing
    if len(last) > 2 and last.endswith("y") and last[-2] not in "aeiou":
        out += [folded[:-1] + "ies", folded[:-1] + "ied"]  # deny -> denies, denied
    return out


class Hit(NamedTuple):
    """A matched term: original-text offsets and the payload index of the term.

    A named tuple: an article's scan makes dozens, and a tuple builds several times
    faster than a frozen dataclass."""

    start: int
    end: int
    term: int
    # Where the hit starts and ends in the folded text (for looking at nearby words).
    fpos: int = 0
    fend: int = 0


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

    def any(self, folded: str) -> bool:
        """Whether any term occurs (whole word) in a folded text."""
        if not self.terms:
            return False
        for end, (_idx, _length) in self._auto.iter(folded):
            tail_end = folded.find(" ", end + 1)
            if tail_end >= 0 and self._whole(folded, end, tail_end):
                return True
        return False

    @staticmethod
    def _whole(folded: str, end: int, tail_end: int) -> bool:
        tail = folded[end + 1 : tail_end]
        return tail in INFLECTIONS or (
            # consonant doubling: scrap -> scrapped, ban -> banning
            len(tail) > 1 and tail[0] == folded[end] and tail[1:] in ("ed", "ing", "er")
        )

    def find(self, folded: str, offsets: Offsets) -> list[Hit]:
        """Hits in a folded text (from `fold`), as offsets into the original text."""
        return self.hits(self.find_folded(folded), offsets)

    def find_folded(self, folded: str) -> list[tuple[int, int, int]]:
        """Whole-word matches as (term, folded start, folded end): enough to decide
        whether an article concerns the catalogue before mapping anything back."""
        if not self.terms:
            return []
        found: list[tuple[int, int, int]] = []
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
            found.append((idx, start + 1, tail_end))
        return found

    @staticmethod
    def hits(found: list[tuple[int, int, int]], offsets: Offsets) -> list[Hit]:
        """`find_folded`'s matches with their offsets in the original text."""
        if not found:
            return []
        spans = offsets.spans([(a, b - 1) for _, a, b in found])
        return [
            Hit(o_start, o_end, idx, a, b)
            for (idx, a, b), (o_start, o_end) in zip(found, spans, strict=True)
        ]
