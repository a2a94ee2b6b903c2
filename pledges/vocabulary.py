"""Compiling a catalogue into one automaton and per-term payloads (pure).

Every company name, alias, short form and product, every subject and scope phrase (and
the content words of multi-word subjects, for loose matches) and every shared cue goes
into one `Matcher`; each automaton term carries what it stands for (`Term`), so a scan
reads an article once whatever the catalogue size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from pledges.lexicon import (
    ADVOCACY,
    AFFIRM,
    BREACH,
    COMMITMENT,
    CONDUCT,
    CORPORATE_SUFFIXES,
    DENIAL,
    EQUIVALENT,
    FULFIL,
    INDUSTRY_TAILS,
    INVESTIGATION,
    LEGAL,
    PERSIST,
    PROHIBITION_WORDS,
    RELIEF,
    REVERSE,
    RISING,
    SHORTFALL,
    STANDING,
    STOPWORDS,
    WEAKEN,
    WITHDRAW,
)
from pledges.models import PledgeIn
from pledges.textmatch import Matcher, fold, fold_term

CUE_KINDS: dict[str, tuple[str, ...]] = {
    "breach": BREACH,
    "conduct": CONDUCT,
    "weaken": WEAKEN,
    "reverse": REVERSE,
    "persist": PERSIST,
    "affirm": AFFIRM,
    "commitment": COMMITMENT,
    "denial": DENIAL,
    "advocacy": ADVOCACY,
    "fulfil": FULFIL,
    "withdraw": WITHDRAW,
    "legal": LEGAL,
    "rising": RISING,
    "investigation": INVESTIGATION,
    "shortfall": SHORTFALL,
    "standing": STANDING,
    "relief": RELIEF,
}


@dataclass
class Term:
    """What one automaton term stands for."""

    companies: set[int] = field(default_factory=set)
    products: set[int] = field(default_factory=set)
    subjects: set[int] = field(default_factory=set)  # pledge indexes (whole phrase)
    scopes: set[int] = field(default_factory=set)
    # Loose subject words: pledge index -> [(phrase index, word index)]
    words: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    cues: set[str] = field(default_factory=set)


@dataclass
class CompiledPledge:
    spec: PledgeIn
    company: int
    # Products named in the pledge's own text: these stand in for its subject.
    products: frozenset[str]
    # Number of content words in each subject phrase (0 for one-word phrases).
    phrase_words: tuple[int, ...]
    # Words of each phrase that must appear in one sentence for a loose match.
    phrase_need: tuple[int, ...]
    # The pledge is a promise not to do something (so doing it again undoes it).
    prohibitive: bool
    # History dates that affirm (extend) or weaken the pledge.
    affirm_dates: tuple[date, ...]
    weaken_dates: tuple[date, ...]


@dataclass
class Compiled:
    """A catalogue ready to scan: pledges, the company gate, the automaton, payloads."""

    pledges: list[CompiledPledge]
    gate: Matcher
    matcher: Matcher
    terms: list[Term]


def content_words(phrase: str) -> list[str]:
    return [w for w in fold_term(phrase).split() if w not in STOPWORDS and len(w) > 1]


def _classify_event(text: str, affirm: Matcher, weaken: Matcher) -> str | None:
    folded, offsets = fold(text)
    if weaken.find(folded, offsets):
        return "weaken"
    if affirm.find(folded, offsets):
        return "affirm"
    return None


_CUE_WORDS = frozenset(fold_term(w) for words in CUE_KINDS.values() for w in words) | STOPWORDS


def short_names(name: str, aliases: Iterable[str] = ()) -> list[str]:
    """Shorter forms news uses for a company: "Delta Air Lines" -> "Delta"."""
    out: list[str] = []
    words = name.split()
    if len(words) > 1 and words[0].lower() == "the":
        words = words[1:]
    while len(words) > 1 and fold_term(words[-1]) in CORPORATE_SUFFIXES:
        words = words[:-1]
    for n in (2, 1):  # two-word industry tails first: "Air Lines", "Motor Company"
        if len(words) > n and fold_term(" ".join(words[-n:])) in INDUSTRY_TAILS:
            words = words[:-n]
    short = " ".join(words).rstrip(",&")
    folded = fold_term(short)
    known = {fold_term(t) for t in (name, *aliases)}
    # A short form that is an everyday word in pledge news ("Target") would match everywhere.
    if len(folded) >= 3 and folded not in known and folded not in _CUE_WORDS:
        out.append(short)
    return out


def compile_catalogue(pledges: Iterable[PledgeIn]) -> Compiled:
    """Build the automaton and payloads for a whole catalogue."""
    affirm_m = Matcher(AFFIRM)
    weaken_m = Matcher(WEAKEN + ("withdrawn", "dropped", "removed", "abandoned"))
    company_index: dict[str, int] = {}
    compiled: list[CompiledPledge] = []
    entries: list[tuple[str, str, object]] = []
    for spec in pledges:
        name = spec.company.name
        ci = company_index.setdefault(name, len(company_index))
        pi = len(compiled)
        # A product stands for the subject only when the pledge itself is about it.
        own_text = fold(" ".join([spec.title, *spec.subject]))[0]
        products = frozenset(
            fold_term(p) for p in spec.company.products if f" {fold_term(p)} " in own_text
        )
        phrase_words: list[int] = []
        for k, phrase in enumerate(spec.subject):
            entries.append((phrase, "subject", pi))
            words = content_words(phrase)
            phrase_words.append(len(words) if len(words) >= 2 else 0)
            if len(words) >= 2:
                for j, word in enumerate(words):
                    for variant in (word, *EQUIVALENT.get(word, ())):
                        entries.append((variant, "word", (pi, k, j)))
        affirm_dates, weaken_dates = [], []
        for ev in spec.history:
            kind = _classify_event(ev.event, affirm_m, weaken_m)
            if kind == "affirm":
                affirm_dates.append(ev.date)
            elif kind == "weaken":
                weaken_dates.append(ev.date)
        compiled.append(
            CompiledPledge(
                spec,
                ci,
                products,
                tuple(phrase_words),
                tuple(n if n <= 2 else math.ceil(2 * n / 3) for n in phrase_words),
                bool(PROHIBITION_WORDS & set(fold(spec.title)[0].split())),
                tuple(affirm_dates),
                tuple(weaken_dates),
            )
        )
        for t in (name, *spec.company.aliases, *short_names(name, spec.company.aliases)):
            entries.append((t, "company", ci))
        for t in spec.company.products:
            entries.append((t, "product", ci))
        for t in spec.scope:
            entries.append((t, "scope", pi))
    for kind, cue_words in CUE_KINDS.items():
        for cue in cue_words:
            entries.append((cue, "cue", kind))

    gate = Matcher(t for t, role, _ in entries if role in ("company", "product"))
    matcher = Matcher(t for t, _, _ in entries)
    terms = [Term() for _ in matcher.terms]
    for t, role, payload in entries:
        idx = matcher.index_of(t)
        if idx is None:
            continue
        term = terms[idx]
        if role == "company":
            term.companies.add(payload)  # type: ignore[arg-type]
        elif role == "product":
            term.products.add(payload)  # type: ignore[arg-type]
        elif role == "subject":
            term.subjects.add(payload)  # type: ignore[arg-type]
        elif role == "scope":
            term.scopes.add(payload)  # type: ignore[arg-type]
        elif role == "word":
            pi, k, j = payload  # type: ignore[misc]
            term.words.setdefault(pi, []).append((k, j))
        else:
            term.cues.add(str(payload))
    return Compiled(compiled, gate, matcher, terms)
