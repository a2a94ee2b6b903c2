"""Reading one article against a compiled catalogue: where each mention sits (pure)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from pledges.lexicon import COMPANY_NOUNS, NEGATION
from pledges.textmatch import Hit, Matcher, collapse, fold_spaced, split_sentences
from pledges.vocabulary import Compiled

MAX_TEXT = 1_000_000
# At most this many pledges may name the subject of an article whose headline describes
# a company without naming it: more, and the article could be about any of them.
DESCRIBED_MAX = 2
# How many words before a company noun may name where the company is ("London water firm").
MODIFIER_REACH = 3


@dataclass
class Article:
    """Per-scan state: where every kind of mention sits, by sentence."""

    doc: str
    folded: str
    sentences: list[tuple[int, int]]
    has_title: bool
    located: list[tuple[int, Hit]]
    company: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # (company, term) -> sentences
    product: dict[tuple[int, int], set[int]] = field(default_factory=lambda: defaultdict(set))
    subject: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    scope: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # (pledge, phrase) -> sentence -> words
    words: dict[tuple[int, int], dict[int, set[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    # kind -> (sentence, hit), negated ones left out
    cues: dict[str, list[tuple[int, Hit]]] = field(default_factory=lambda: defaultdict(list))
    # Companies the headline describes without naming ("the Swedish carmaker"), taken
    # from the one or few pledges whose subject the article names.
    described: set[int] = field(default_factory=set)
    # pledge -> sentences naming a name from its own text (a site, brand, place, person).
    names: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @cached_property
    def _sentence_hits(self) -> dict[int, tuple[list[int], list[tuple[int, Hit]]]]:
        """Sentence -> its hits' folded starts, sorted, and (place in `located`, hit)."""
        grouped: dict[int, list[tuple[int, int, Hit]]] = defaultdict(list)
        for i, (si, h) in enumerate(self.located):
            grouped[si].append((h.fpos, i, h))
        out: dict[int, tuple[list[int], list[tuple[int, Hit]]]] = {}
        for si, found in grouped.items():
            found.sort(key=lambda x: (x[0], x[1]))
            out[si] = ([f for f, _, _ in found], [(i, h) for _, i, h in found])
        return out

    def hits_near(self, si: int, lo: int, hi: int) -> list[Hit]:
        """Hits of sentence `si` that start between `lo` and `hi` in the folded text, in
        the order of `located` (so a reader that stops at the first match sees the same)."""
        starts, hits = self._sentence_hits.get(si, ([], []))
        found = hits[bisect_left(starts, lo) : bisect_right(starts, hi)]
        return [h for _, h in sorted(found, key=lambda x: x[0])]

    def cue_hits(self, kind: str, window: set[int]) -> list[tuple[int, Hit]]:
        return [(s, h) for s, h in self.cues.get(kind, ()) if s in window]

    def text_of(self, hits: Iterable[tuple[int, Hit]]) -> list[str]:
        return sorted({self.doc[h.start : h.end].lower() for _, h in hits})


def negation(words: list[str], i: int) -> bool:
    """Whether `words[i]` negates; the "t" of a folded "don't" only after its "n" ("at t"
    is AT&T)."""
    word = words[i]
    if word == "t":
        return i > 0 and words[i - 1].endswith("n")
    return word in NEGATION


# Verbs that keep someone from doing what follows "from" ("bars police from using").
_KEEPING_FROM = ("bar", "ban", "prohibit", "forbid", "block", "stop", "prevent", "restrict")
# Verbs that forbid the thing they name ("forbids its use", "bans the sale").
_FORBIDDING = ("bars", "barred", "bans", "banned", "prohibit", "forbid")


def negated(folded: str, hit: Hit) -> bool:
    """A negation among the three words before the hit, "no" right after it, or the hit
    kept from happening ("bars police from using", "stops it from selling")."""
    start = hit.fpos - 60
    words = folded[start if start > 0 else 0 : hit.fpos].split()
    last = len(words)
    near = max(last - 3, 0)
    # Plain loops: this runs for every cue word of every article that names a company.
    for i in range(near, last):
        if negation(words, i):
            return True
    if last > 1 and words[-1] == "from":
        for w in words[max(last - 6, 0) : last - 1]:
            if w.startswith(_KEEPING_FROM):
                return True
    # "forbids its use", "bans the sale": the thing named is what is kept from happening.
    for w in words[near:last]:
        if w.startswith(_FORBIDDING):
            return True
    after = folded[hit.fpos : hit.fpos + 80].split()
    n = len(folded[hit.fpos : hit.fend].split()) if hit.fend else 1
    return len(after) > n and after[n] in ("no", "nothing", "none")


_COMPANY_NOUN = re.compile(r"\b(?:\w*maker|" + "|".join(COMPANY_NOUNS) + r")\b")
_WORD_START = re.compile(r"[A-Za-z]+")
# The same nouns as an automaton over folded text: a headline with none of them (most)
# is ruled out before `describes_company` reads it word by word.
_NOUNS = Matcher(COMPANY_NOUNS)


def _may_describe(spaced_title: str) -> bool:
    return _NOUNS.any(spaced_title) or "maker" in spaced_title


def describes_company(title: str) -> bool:
    """Whether a headline tells of one company by what it is, naming none: a company
    noun ("Swedish carmaker", "delivery firm") and no capitalised word but the first and
    those just before the noun (a capital elsewhere in a sentence-case headline is a name;
    one just before the noun says where the company is, "London water firm"; acronyms
    such as EV are not names)."""
    if not title:
        return False
    tokens = title.split()
    nouns = [
        i
        for i, token in enumerate(tokens)
        if _COMPANY_NOUN.search(token.lower().replace("-", " ").replace("\u2019s", ""))
    ]
    if not nouns:
        return False
    modifiers = {j for i in nouns for j in range(max(i - MODIFIER_REACH, 0), i)}
    for i, token in enumerate(tokens[1:], start=1):
        word = _WORD_START.search(token)
        if (
            word
            and word.group(0)[0].isupper()
            and not word.group(0).isupper()
            and i not in modifiers
        ):
            return False
    return True


def locate(
    cat: Compiled, by_company: dict[int, list[int]], title: str, text: str
) -> Article | None:
    """Every mention in the article, or None when no catalogue pledge can be tied."""
    title = " ".join(title[:2_000].split())
    text = text[:MAX_TEXT]
    doc = f"{title}\n{text}" if title else text
    spaced = fold_spaced(doc)
    # Most articles name no catalogue company: one cheap pass (for a word of each name,
    # before the text is folded completely), and one over the headline for a company it
    # describes instead of naming.
    describes = _may_describe(spaced[: len(title) + 2]) and describes_company(title)
    if not describes and not cat.pregate.any(spaced):
        return None
    folded, offsets = collapse(spaced, len(doc))
    named = cat.gate.any(folded)
    if not named and not describes:
        return None
    # Whether the article concerns the catalogue is decided on the distinct terms alone;
    # offsets into the original text are mapped only for an article that does.
    matches = cat.matcher.find_folded(folded)
    terms = cat.terms
    present = [terms[i] for i in {m[0] for m in matches}]
    companies = {c for t in present for c in (*t.companies, *t.products)}
    by_name = {pi for t in present for pi in t.names}
    described: set[int] = set()
    if not companies and (not named or describes):
        # Only a subject phrase few pledges share can tell whose company is meant.
        named_subject = {pi for t in present for pi in t.subjects}
        if named_subject and len(named_subject) <= DESCRIBED_MAX:
            companies = described = {cat.pledges[pi].company for pi in named_subject}
    if not companies and not by_name:
        return None
    wanted = {pi for c in companies for pi in by_company.get(c, ())} | by_name
    # Set operations meet pledge sets in C, iterating the smaller side: a word shared by
    # thousands of pledges costs no Python loop over them.
    if not any(
        t.products or not wanted.isdisjoint(t.subjects) or not t.words.keys().isdisjoint(wanted)
        for t in present
    ):
        return None  # the company is named in passing: none of its pledges' subjects
    hits = cat.matcher.hits(matches, offsets)
    shift = len(title) + 1 if title else 0
    sentences = ([(0, len(title))] if title else []) + [
        (a + shift, b + shift) for a, b in split_sentences(text)
    ]
    if not sentences:
        return None
    starts = [s for s, _ in sentences]
    located = [(bisect_right(starts, h.start) - 1, h) for h in hits]
    art = Article(doc, folded, sentences, bool(title), located)
    for c in described:
        art.company[c].add(0)
    art.described = described
    word_sentences: dict[int, set[int]] = {}
    for si, h in located:
        term = terms[h.term]
        for c in term.companies:
            art.company[c].add(si)
        for c in term.products:
            art.product[(c, h.term)].add(si)
        if term.cues and not negated(folded, h):
            for kind in term.cues:
                art.cues[kind].append((si, h))
        if term.subjects:
            for pi in term.subjects & wanted:
                art.subject[pi].add(si)
        if term.scopes:
            for pi in term.scopes & wanted:
                art.scope[pi].add(si)
        if term.words:
            word_sentences.setdefault(h.term, set()).add(si)
        for pi in term.names:
            art.names[pi].add(si)
    # Loose words: one pass per distinct word, not per occurrence, and a phrase is kept
    # only when enough of its words occur at all (a word shared by thousands of pledges
    # costs one look at each of them, once).
    found: dict[tuple[int, int], dict[int, set[int]]] = defaultdict(dict)
    for t, sents in word_sentences.items():
        words = terms[t].words
        for pi in words.keys() & wanted:
            for k, j in words[pi]:
                found[(pi, k)].setdefault(j, set()).update(sents)
    for (pi, k), by_word in found.items():
        if len(by_word) < cat.pledges[pi].phrase_need[k]:
            continue
        by_sentence = art.words[(pi, k)]
        for j, sents in by_word.items():
            for si in sents:
                by_sentence[si].add(j)
    return art


_YEARS_LATER = re.compile(r"\bfrom ((?:19|20)\d\d) to ((?:19|20)\d\d)\b")
_YEARS_INSTEAD = re.compile(
    r"\b((?:19|20)\d\d),? (?:instead of|rather than|not|from|replacing) ((?:19|20)\d\d)\b"
)


def deadline_moved_later(art: Article, window: set[int]) -> str | None:
    """A date moved later ("from 2030 to 2050", "2026 instead of 2025"): a delay."""
    for si in sorted(window):
        if si >= len(art.sentences):
            continue
        a, b = art.sentences[si]
        sentence = art.doc[a:b]
        for m in _YEARS_LATER.finditer(sentence):
            if int(m[2]) > int(m[1]):
                return m[0]
        for m in _YEARS_INSTEAD.finditer(sentence):
            if int(m[1]) > int(m[2]):
                return m[0]
    return None


# Words that tell a date as a slip ("now expected in 2022", "pushed to 2025 at the earliest").
_SLIP = re.compile(
    r"\b(?:now|push(?:es|ed|ing)?|slip(?:s|ped|ping)?|delay(?:s|ed|ing)?|postpone[sd]?"
    r"|at the earliest|no earlier than|not until|not before|until|moved to|behind schedule"
    r"|expected in|reads)\b"
)
_A_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")


def due_year_passed(art: Article, window: set[int], due: int | None) -> str | None:
    """A year later than the pledge's own due year told as a slip ("now expected in
    2022" for a 2020 goal): the deadline moved without a "from ... to" in the text."""
    if due is None:
        return None
    for si in sorted(window):
        if si >= len(art.sentences):
            continue
        a, b = art.sentences[si]
        sentence = art.doc[a:b]
        later = [m for m in _A_YEAR.finditer(sentence) if int(m[1]) > due]
        if later and _SLIP.search(sentence.lower()):
            return later[0][0]
    return None


# A deadline brought forward strengthens a pledge: the story is the pledge, not a breach.
_SOONER = re.compile(
    r"\b(?:brings?|brought|bringing|moves?|moved|moving) (?:\w+ ){0,4}?(?:forward|up)\b"
    r"|\baccelerat(?:es?|ed|ing)\b|\bahead of (?:schedule|its|the|target)\b"
    r"|\bearlier than (?:planned|promised|scheduled)\b"
)


def deadline_moved_earlier(art: Article, window: set[int]) -> str | None:
    """A date or goal moved earlier ("from 2030 to 2025", "brought forward")."""
    for si in sorted(window):
        if si >= len(art.sentences):
            continue
        a, b = art.sentences[si]
        sentence = art.doc[a:b]
        for m in _YEARS_LATER.finditer(sentence):
            if int(m[2]) < int(m[1]):
                return m[0]
        for m in _YEARS_INSTEAD.finditer(sentence):
            if int(m[1]) < int(m[2]):
                return m[0]
        found = _SOONER.search(sentence.lower())
        if found:
            return found[0]
    return None
