"""Compiling a catalogue into one automaton and per-term payloads (pure).

Every company name, alias, short form and product, every subject and scope phrase (and
the content words of multi-word subjects, for loose matches) and every shared cue goes
into one `Matcher`; each automaton term carries what it stands for (`Term`), so a scan
reads an article once whatever the catalogue size.
"""

from __future__ import annotations

import math
import re
from collections import Counter
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
    ENFORCEMENT,
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
    STILL,
    STOPWORDS,
    UNKEPT,
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
    "enforcement": ENFORCEMENT,
    "shortfall": SHORTFALL,
    "standing": STANDING,
    "relief": RELIEF,
    "unkept": UNKEPT,
    "still": STILL,
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
    # Words taken from the pledge's own title and statement, with where each came from;
    # they form one more loose phrase (index `len(spec.subject)`), tied on any two.
    derived: tuple[tuple[str, str], ...] = ()
    # Stems of the words of the pledge's title and statement: a rollback word the pledge
    # itself uses ("remove", "phase out") reports the promised action, not its undoing.
    own_stems: frozenset[str] = frozenset()
    # Words several subject phrases share ("coal" of "thermal coal" and "coal producers"):
    # the core of what the pledge is about, one more loose phrase tied on any one of them.
    core: tuple[str, ...] = ()

    @property
    def derived_phrase(self) -> int:
        return len(self.spec.subject) if self.derived else -1

    @property
    def core_phrase(self) -> int:
        return len(self.spec.subject) + bool(self.derived) if self.core else -1


@dataclass
class Compiled:
    """A catalogue ready to scan: pledges, the company gate, the automaton, payloads."""

    pledges: list[CompiledPledge]
    gate: Matcher
    matcher: Matcher
    terms: list[Term]


def content_words(phrase: str) -> list[str]:
    return [w for w in fold_term(phrase).split() if w not in STOPWORDS and len(w) > 1]


# Words a pledge's title and statement share with any other pledge's: too general to tie
# an article to one pledge (beyond STOPWORDS and the cue lexicons).
GENERAL_WORDS = frozenset(
    "will would shall should could must also each every this that these those which who "
    "whose what when where while such more most less least then there their them they "
    "have been being were does done only same very just about above after again against "
    "before below between both during further once here because until within without "
    "across along among around company companies firm business businesses group global "
    "world year years time date percent cent including include includes make made making "
    "take taken first last next major part plan plans goal goals target targets policy "
    "policies commitment commitments pledge pledges promise promised promises committed "
    "said says announced announce statement ensure continue continued work working "
    "operations products services customers people across worldwide based later least "
    "per cent reach reached achieve achieving support supports "
    # months, numbers and amounts
    "january february march april june july august september october november december "
    "million billion trillion thousand hundred half double third quarter five some well "
    "full none zero "
    # reporting and everyday verbs, titles and connectives
    "wrote write writes told tell report reported reporting added adding following "
    "followed published presented expected planned updated update saying help helps "
    "helping through toward towards since longer place start started taking having "
    "found agreed chief executive president officer director founder chairman "
    "national international united states directly become becoming aimed aiming "
    "roughly around approximately compared version team members member "
    "one two three four six seven eight nine ten".split()
)
# A capitalised word inside a sentence: a name (of a person, place, programme), which
# news about the pledge need not repeat; the company's own names are matched anyway.
_LOWER_WORD = re.compile(r"\b[a-z][a-z]*\b")
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)(?<![.!?:\"\u201c]\s\s)\b([A-Z][a-z][\w'-]*)")
# Bounds on what one pledge's text can add, whatever its length (a 5,000-word statement
# adds no more than a short one).
DERIVED_MAX = 16
DERIVED_SHARED_MIN = 20
DERIVED_SCAN = 400


def base_forms(word: str) -> list[str]:
    """The word and its singular, so a plural in the pledge matches a singular in news."""
    if word.endswith("ies") and len(word) > 4:
        return [word, word[:-3] + "y"]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        return [word, word[:-1]]
    return [word]


STEM = 5


def own_stems(spec: PledgeIn) -> frozenset[str]:
    """Stems of the title's and statement's words (bounded for long statements)."""
    text = f"{spec.title[:2_000]} {spec.statement[: DERIVED_SCAN * 12]}"
    return frozenset(w[:STEM] for w in fold_term(text).split()[: DERIVED_SCAN * 2])


def in_own_words(stems: frozenset[str], term: str) -> bool:
    """Whether every word of a (folded) cue term is one the pledge itself uses."""
    words = term.split()
    return bool(words) and all(w[:STEM] in stems for w in words)


def derived_words(spec: PledgeIn, exclude: set[str]) -> list[tuple[str, str]]:
    """Content words of the title, then the statement, each with its origin.

    Names the statement adds (capitalised inside a sentence), numbers, general and cue
    words and the company's own names are left out; a word and its plural count once.
    """
    statement = spec.statement[: DERIVED_SCAN * 12]
    names = {m.lower() for m in _NAME.findall(statement)}
    if names:
        names -= set(_LOWER_WORD.findall(statement))
    out: dict[str, str] = {}
    seen: set[str] = set()
    for origin, text in (("title", spec.title[:2_000]), ("statement", statement)):
        for word in fold_term(text).split()[:DERIVED_SCAN]:
            if len(out) >= DERIVED_MAX:
                return list(out.items())
            if (
                len(word) < 4
                or not word.isalpha()
                or word in seen
                or word in STOPWORDS
                or word in GENERAL_WORDS
                or word in _CUE_WORDS
                or word in exclude
                or (origin == "statement" and word in names)
            ):
                continue
            forms = base_forms(word)
            if any(f in seen for f in forms):
                continue
            seen.update(forms)
            out[word] = origin
    return list(out.items())


CORE_MIN_PHRASES = 2


def core_words(subject: Iterable[str], exclude: set[str]) -> list[str]:
    """Content words every multi-word subject phrase names (when there are two or more).

    A word only some phrases share is one aspect of the subject ("facial" of "facial
    recognition" and "facial analysis" when "face recognition" is listed too), not its
    core. A word that is itself a whole subject phrase is matched exactly anyway; general,
    cue and company words tell nothing about the subject.
    """
    phrases = [content_words(p) for p in subject]
    multi = [words for words in phrases if len(words) >= 2]
    if len(multi) < CORE_MIN_PHRASES:
        return []
    whole = {words[0] for words in phrases if len(words) == 1}
    count = Counter(base_forms(w)[-1] for words in multi for w in set(words))
    return [
        w
        for w, n in count.items()
        if n == len(multi)
        and len(w) >= 3
        and w.isalpha()
        and w not in whole
        and w not in GENERAL_WORDS
        and w not in _CUE_WORDS
        and w not in exclude
    ]


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


def _company_words(spec: PledgeIn) -> set[str]:
    c = spec.company
    every = (c.name, *c.aliases, *short_names(c.name, c.aliases), *c.products)
    return {w for n in every for w in fold_term(n).split()}


def compile_catalogue(pledges: Iterable[PledgeIn]) -> Compiled:
    """Build the automaton and payloads for a whole catalogue."""
    affirm_m = Matcher(AFFIRM)
    weaken_m = Matcher(WEAKEN + ("withdrawn", "dropped", "removed", "abandoned"))
    company_index: dict[str, int] = {}
    compiled: list[CompiledPledge] = []
    # Folded term -> what it stands for; built directly so each entry is folded once.
    by_term: dict[str, Term] = {}
    gate_terms: list[str] = []

    def term(text: str) -> Term | None:
        folded = fold_term(text)
        if not folded:
            return None
        found = by_term.get(folded)
        if found is None:
            found = by_term[folded] = Term()
        return found

    specs = list(pledges)
    own = [derived_words(spec, _company_words(spec)) for spec in specs]
    # A word in the own text of many pledges tells none of them apart (and would tie an
    # article to all of them): only words rarer than this across the catalogue are used.
    frequency = Counter(w for words in own for w, _ in words)
    common = max(DERIVED_SHARED_MIN, len(specs) // 100)
    for spec, found in zip(specs, own, strict=True):
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
            if (t := term(phrase)) is not None:
                t.subjects.add(pi)
            words = content_words(phrase)
            phrase_words.append(len(words) if len(words) >= 2 else 0)
            if len(words) >= 2:
                for j, word in enumerate(words):
                    for variant in (*base_forms(word), *EQUIVALENT.get(word, ())):
                        if (t := term(variant)) is not None:
                            t.words.setdefault(pi, []).append((k, j))
        names = (name, *spec.company.aliases, *short_names(name, spec.company.aliases))
        derived = [(w, origin) for w, origin in found if frequency[w] <= common]
        need = [n if n <= 2 else math.ceil(2 * n / 3) for n in phrase_words]
        if len(derived) >= 2:
            k = len(spec.subject)
            phrase_words.append(len(derived))
            need.append(2)
            for j, (word, _) in enumerate(derived):
                for variant in base_forms(word):
                    if (t := term(variant)) is not None:
                        t.words.setdefault(pi, []).append((k, j))
        else:
            derived = []
        core = core_words(spec.subject, _company_words(spec))
        if core:
            k = len(spec.subject) + bool(derived)
            phrase_words.append(len(core))
            need.append(1)
            for j, word in enumerate(core):
                for variant in (*base_forms(word), *EQUIVALENT.get(word, ())):
                    if (t := term(variant)) is not None:
                        t.words.setdefault(pi, []).append((k, j))
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
                tuple(need),
                bool(PROHIBITION_WORDS & set(fold(spec.title)[0].split())),
                tuple(affirm_dates),
                tuple(weaken_dates),
                tuple(derived),
                own_stems(spec),
                tuple(core),
            )
        )
        for n in names:
            if (t := term(n)) is not None:
                t.companies.add(ci)
                gate_terms.append(n)
        for n in spec.company.products:
            if (t := term(n)) is not None:
                t.products.add(ci)
                gate_terms.append(n)
        for n in spec.scope:
            if (t := term(n)) is not None:
                t.scopes.add(pi)
    for kind, cue_words in CUE_KINDS.items():
        for cue in cue_words:
            if (t := term(cue)) is not None:
                t.cues.add(kind)

    gate = Matcher(gate_terms)
    matcher = Matcher(by_term)
    terms = [by_term[t] for t in matcher.terms]
    return Compiled(compiled, gate, matcher, terms)
