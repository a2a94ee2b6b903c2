"""Compiling a catalogue into one automaton and per-term payloads (pure).

Every company name, alias, short form and product, every subject and scope phrase (and
the content words of multi-word subjects, for loose matches) and every shared cue goes
into one `Matcher`; each automaton term carries what it stands for (`Term`), so a scan
reads an article once whatever the catalogue size.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, cached_property, lru_cache
from pathlib import Path

from pledges.lexicon import (
    ADVOCACY,
    AFFIRM,
    BREACH,
    CLOSURE,
    COMMITMENT,
    CONDUCT,
    CORPORATE_SUFFIXES,
    DENIAL,
    ENFORCEMENT,
    EQUIVALENT,
    FULFIL,
    INDUSTRY_TAILS,
    INVESTIGATION,
    LAYOFFS,
    LEGAL,
    PERSIST,
    PROHIBITION_WORDS,
    RELIEF,
    REVERSE,
    RISING,
    SHORTFALL,
    STAFF_CUT,
    STANDING,
    STILL,
    STOPWORDS,
    UNKEPT,
    WEAKEN,
    WITHDRAW,
    WORKFORCE,
)
from pledges.models import CompanyIn, PledgeIn, PledgeKind
from pledges.textmatch import Matcher, fold, fold_spaced, fold_term

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
    "layoffs": LAYOFFS,
    "staff_cut": STAFF_CUT,
    "closure": CLOSURE,
    "workforce": WORKFORCE,
}
# Cue kinds whose words are everyday words of what pledges promise ("jobs", "close a
# plant"): a pledge's own text may still use them as its words.
OBJECT_CUES = frozenset({"layoffs", "staff_cut", "closure", "workforce"})


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
    # Names the pledge's own text uses (a site, brand, place or person): pledge indexes.
    names: set[int] = field(default_factory=set)

    def names_company(self, ci: int) -> bool:
        """Whether this term names company `ci`: its name, an alias or one of its products."""
        return ci in self.companies or ci in self.products


@dataclass
class CompiledPledge:
    """One pledge's part of the compiled catalogue.

    Only what ties an article to the pledge is built when the catalogue compiles; what
    matters only once the pledge has a candidate (its products, own stems, history) is
    worked out on first use, so compiling costs little per pledge that news never ties.
    """

    spec: PledgeIn
    company: int
    # Number of content words in each subject phrase (0 for one-word phrases).
    phrase_words: tuple[int, ...]
    # Words of each phrase that must appear in one sentence for a loose match.
    phrase_need: tuple[int, ...]
    # Words taken from the pledge's own title and statement, with where each came from;
    # they form one more loose phrase (index `len(spec.subject)`), tied on any two.
    derived: tuple[tuple[str, str], ...] = ()
    # Words several subject phrases share ("coal" of "thermal coal" and "coal producers"):
    # the core of what the pledge is about, one more loose phrase tied on any one of them.
    core: tuple[str, ...] = ()
    # Content words of all subject phrases together: news naming two of them in one
    # sentence ("PAC gifts to lawmakers") is about the subject even when it words no single
    # phrase closely enough; one more loose phrase, tied on any two.
    pooled: tuple[str, ...] = ()
    # Names from the pledge's own text that stand in for the company when a report does
    # not name it ("Whyalla" for the steelworks' owner), with where each came from.
    names: tuple[tuple[str, str], ...] = ()

    @property
    def derived_phrase(self) -> int:
        return len(self.spec.subject) if self.derived else -1

    @property
    def core_phrase(self) -> int:
        return len(self.spec.subject) + bool(self.derived) if self.core else -1

    @property
    def pooled_phrase(self) -> int:
        k = len(self.spec.subject) + bool(self.derived) + bool(self.core)
        return k if self.pooled else -1

    @cached_property
    def products(self) -> frozenset[str]:
        """Products named in the pledge's own text: these stand in for its subject."""
        return own_products(self.spec)

    @cached_property
    def prohibitive(self) -> bool:
        """The pledge is a promise not to do something (so doing it again undoes it)."""
        return bool(PROHIBITION_WORDS & set(fold_spaced(self.spec.title).split()))

    @cached_property
    def promises_jobs(self) -> bool:
        """The pledge's own text promises jobs or a workforce (so cutting staff undoes it)."""
        words = set(fold_term(f"{self.spec.title} {self.spec.statement[:2_000]}").split())
        return bool(words & _WORKFORCE_WORDS)

    @cached_property
    def kind_feature(self) -> str:
        return kind_feature(self.spec.kind)

    @cached_property
    def deadline_year(self) -> int | None:
        """The year the pledge is due: the first year after it was made that its title,
        else its statement, names, else the year it ends."""
        made = self.spec.made_on.year
        for text in (self.spec.title, self.spec.statement[:2_000]):
            years = [int(y) for y in _YEAR.findall(text) if int(y) > made]
            if years:
                return min(years)
        until = self.spec.effective_until
        return until.year if until is not None and until.year > made else None

    @cached_property
    def _history(self) -> tuple[tuple[date, ...], tuple[date, ...]]:
        return history_dates(self.spec)

    @property
    def affirm_dates(self) -> tuple[date, ...]:
        """History dates that affirm (extend) the pledge."""
        return self._history[0]

    @property
    def weaken_dates(self) -> tuple[date, ...]:
        """History dates that weaken the pledge."""
        return self._history[1]

    @cached_property
    def own_stems(self) -> frozenset[str]:
        """Stems of the words of the pledge's title and statement: a rollback word the
        pledge itself uses ("remove", "phase out") reports the promised action, not its
        undoing."""
        return own_stems(self.spec)


_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
# Words by which a pledge's own text promises jobs ("people" is a cut's object, but a
# pledge that names people promises no jobs by it).
_WORKFORCE_WORDS = frozenset(
    f for w in WORKFORCE for f in (fold_term(w), fold_term(w) + "s") if w != "people"
)


@dataclass
class Compiled:
    """A catalogue ready to scan: pledges, the company gate, the automaton, payloads."""

    pledges: list[CompiledPledge]
    gate: Matcher
    matcher: Matcher
    terms: list[Term]
    # The rarest word of each gate term: found in text whose spaces are not yet
    # collapsed, it turns most articles away before they are folded completely.
    pregate: Matcher


def _rarest_words(terms: Sequence[str]) -> set[str]:
    """One word of each term, the one fewest terms share, then the longest ("Acme Group
    Holdings" by "acme"): any text naming the term has it, and few others do."""
    shared = Counter(w for t in terms for w in set(t.split()))
    return {min(t.split(), key=lambda w: (shared[w], -len(w), w)) for t in terms if t.split()}


def kind_feature(kind: PledgeKind) -> str:
    """The kind feature naming a pledge's kind ("pledge_legal_obligation")."""
    return "pledge_" + kind.value.replace("-", "_")


def content_words(phrase: str) -> list[str]:
    return list(_content_words(phrase))


# Catalogues repeat subject phrases and words across many pledges: their content words,
# word forms and core candidates are worked out once per distinct phrase or word.
@lru_cache(maxsize=1 << 14)
def _content_words(phrase: str) -> tuple[str, ...]:
    return tuple(w for w in fold_term(phrase).split() if w not in STOPWORDS and len(w) > 1)


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


@lru_cache(maxsize=1 << 14)
def _forms(word: str) -> tuple[str, ...]:
    return tuple(base_forms(word))


@lru_cache(maxsize=1 << 14)
def _loose_variants(word: str) -> tuple[str, ...]:
    """The forms under which a loose subject word is indexed."""
    return (*base_forms(word), *EQUIVALENT.get(word, ()))


STEM = 5


def own_stems(spec: PledgeIn) -> frozenset[str]:
    """Stems of the title's and statement's words (bounded for long statements)."""
    text = f"{spec.title[:2_000]} {spec.statement[: DERIVED_SCAN * 12]}"
    return frozenset(w[:STEM] for w in fold_term(text).split()[: DERIVED_SCAN * 2])


def in_own_words(stems: frozenset[str], term: str) -> bool:
    """Whether every word of a (folded) cue term is one the pledge itself uses."""
    words = term.split()
    return bool(words) and all(w[:STEM] in stems for w in words)


def derived_words(spec: PledgeIn, exclude: Collection[str]) -> list[tuple[str, str]]:
    """Content words of the title, then the statement, each with its origin.

    Names the statement adds (capitalised inside a sentence), numbers, general and cue
    words and the company's own names are left out; a word and its plural count once.
    """
    statement = spec.statement[: DERIVED_SCAN * 12]
    # Found only once a statement word passes every other test (most never do).
    names: set[str] | None = None
    out: dict[str, str] = {}
    seen: set[str] = set()
    for origin, text in (("title", spec.title[:2_000]), ("statement", statement)):
        # Not fold_term: each pledge's text is folded once, so caching it would only push
        # the catalogue's shared terms out of that cache.
        for word in fold_spaced(text).split()[:DERIVED_SCAN]:
            if len(out) >= DERIVED_MAX:
                return list(out.items())
            if (
                len(word) < 4
                or not word.isalpha()
                or word in seen
                or word in _NOT_OWN
                or word in exclude
            ):
                continue
            if origin == "statement":
                if names is None:
                    names = _statement_names(statement)
                if word in names:
                    continue
            forms = _forms(word)
            if any(f in seen for f in forms):
                continue
            seen.update(forms)
            out[word] = origin
    return list(out.items())


def _statement_names(statement: str) -> set[str]:
    """Words the statement only ever writes capitalised inside a sentence (names)."""
    names = {m.lower() for m in _NAME.findall(statement)}
    if names:
        names -= set(_LOWER_WORD.findall(statement))
    return names


CORE_MIN_PHRASES = 2


def core_words(subject: Iterable[str], exclude: Collection[str]) -> list[str]:
    """Content words every multi-word subject phrase names (when there are two or more).

    A word only some phrases share is one aspect of the subject ("facial" of "facial
    recognition" and "facial analysis" when "face recognition" is listed too), not its
    core. A word that is itself a whole subject phrase is matched exactly anyway; general,
    cue and company words tell nothing about the subject.
    """
    return [w for w in _core_candidates(tuple(subject)) if w not in exclude]


@lru_cache(maxsize=1 << 12)
def _core_candidates(subject: tuple[str, ...]) -> tuple[str, ...]:
    """`core_words` before the company's own words are left out."""
    phrases = [_content_words(p) for p in subject]
    multi = [words for words in phrases if len(words) >= 2]
    if len(multi) < CORE_MIN_PHRASES:
        return ()
    whole = {words[0] for words in phrases if len(words) == 1}
    count = Counter(_forms(w)[-1] for words in multi for w in set(words))
    return tuple(
        w
        for w, n in count.items()
        if n == len(multi) and len(w) >= 3 and w.isalpha() and w not in whole and w not in _NOT_OWN
    )


POOL_MAX = 24


def pooled_words(subject: Iterable[str], exclude: Collection[str]) -> list[str]:
    """Distinct content words of the subject phrases, when there are two phrases or more
    (one phrase is matched loosely on its own words already)."""
    out = [w for w in _pool_candidates(tuple(subject)) if w not in exclude][:POOL_MAX]
    return out if len(out) >= 2 else []


@lru_cache(maxsize=1 << 12)
def _pool_candidates(subject: tuple[str, ...]) -> tuple[str, ...]:
    """`pooled_words` before the company's own names are left out."""
    phrases = [_content_words(p) for p in subject]
    if sum(1 for words in phrases if words) < 2:
        return ()
    out: dict[str, None] = {}
    forms: set[str] = set()
    for words in phrases:
        for w in words:
            base = _forms(w)[-1]
            # One word in two forms ("face" and "facial") is one word of the subject.
            variants = {w, base, *_loose_variants(w), *_loose_variants(base)}
            if len(w) < 3 or not w.isalpha() or w in _NOT_OWN or variants & forms:
                continue
            out[base] = None
            forms |= variants
    return tuple(out)


@cache
def _event_matchers() -> tuple[Matcher, Matcher]:
    """Cues that tell a history event extending a pledge from one weakening it."""
    affirm = Matcher(AFFIRM)
    weaken = Matcher(WEAKEN + ("withdrawn", "dropped", "removed", "abandoned"))
    return affirm, weaken


def _classify_event(text: str) -> str | None:
    affirm, weaken = _event_matchers()
    folded, offsets = fold(text)
    if weaken.find(folded, offsets):
        return "weaken"
    if affirm.find(folded, offsets):
        return "affirm"
    return None


def history_dates(spec: PledgeIn) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """Dates of the pledge's history events that affirm it, and those that weaken it."""
    affirm: list[date] = []
    weaken: list[date] = []
    for ev in spec.history:
        kind = _classify_event(ev.event)
        if kind == "affirm":
            affirm.append(ev.date)
        elif kind == "weaken":
            weaken.append(ev.date)
    return tuple(affirm), tuple(weaken)


# A run of capitalised words: a name (a place, site, brand, person or programme).
_CAPITALISED = re.compile(r"[A-Z][\w'\u2019&-]*(?:[ \t]+[A-Z][\w'\u2019&-]*)*")
_SENTENCE_END = frozenset('.!?:;"\u201c\u2018(\n')
# Bounds on the names one pledge adds, whatever the length of its text.
NAMES_MAX = 12
NAMES_SCAN = 4_000
# A title with this share of its words capitalised is in title case: its capitals are
# style, not names.
TITLE_CASE_SHARE = 0.6
COMMON_NAMES_FILE = Path(__file__).parent / "fitted" / "names.json"
log = logging.getLogger(__name__)


def text_names(text: str) -> list[str]:
    """The names a text writes (folded runs of capitalised words, possessives and leading
    function words dropped).

    A word that opens a sentence is a name alone only when the text also capitalises it
    inside a sentence ("Whyalla's furnace ... at Whyalla"), not when it is any word that
    opens one.
    """
    runs: list[tuple[list[str], bool]] = []
    inside: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        before = text[max(m.start() - 3, 0) : m.start()].rstrip(" \t")
        opening = not before or before[-1] in _SENTENCE_END
        words = [_possessive(w) for w in m.group(0).split()]
        runs.append((words, opening))
        inside.update(fold_term(w) for w in (words[1:] if opening else words))
    out: list[str] = []
    for words, opening in runs:
        folded = fold_term(" ".join(words)).split()
        while folded and folded[0] in STOPWORDS:
            folded = folded[1:]
        if not folded:
            continue
        if opening and len(words) > 1 and folded[0] not in inside:
            # "Whole Foods Market said", "Keep Port Pirie clean": the opening word may or
            # may not belong to the name, so both readings are kept.
            out.append(" ".join(folded[1:]))
        if not opening or folded[0] in inside or len(folded) > 1:
            out.append(" ".join(folded))
    return out


@lru_cache(maxsize=1 << 12)
def _text_names_cached(text: str) -> tuple[str, ...]:
    return tuple(text_names(text))


def _possessive(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "\u2019s")) else word


@lru_cache(maxsize=1)
def common_names() -> frozenset[str]:
    """The shipped list of names that reports in many unrelated fields use ("European
    Union", "Reuters") and everyday words: they tell no pledge's company apart. Made
    from the labelled corpora by `pledgewatch detector fit-names`."""
    return load_common_names(COMMON_NAMES_FILE)


def load_common_names(path: Path) -> frozenset[str]:
    """A names file's list; a missing or damaged file gives none, with a warning (every
    name then counts, which costs precision, never detection)."""
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("field 'names' must be a list of strings")
        return frozenset(names)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("common names in %s unusable (%s); every name in a pledge counts", path, exc)
        return frozenset()


def pledge_names(
    spec: PledgeIn, company_words: Collection[str], common: Collection[str]
) -> list[tuple[str, str]]:
    """Names in the pledge's title, statement, scope and the company's products, each with
    where it came from; not the company's own names, general or cue words, words the
    pledge also writes in lower case, nor names that reports of many fields use."""
    statement = spec.statement[:NAMES_SCAN]
    lower: set[str] | None = None  # the words written in lower case, read when needed
    title_words = spec.title.split()
    title_case = len(title_words) >= 3 and sum(
        w[:1].isupper() for w in title_words
    ) >= TITLE_CASE_SHARE * len(title_words)
    sources = [
        ("title", "" if title_case else spec.title[:2_000]),
        ("statement", statement),
        *(("scope", s) for s in spec.scope[:NAMES_MAX]),
        *(("product", s) for s in spec.company.products[:NAMES_MAX]),
    ]
    out: dict[str, str] = {}
    for origin, text in sources:
        # A scope or product reads the same in each of the company's pledges.
        found = text_names(text) if origin in ("title", "statement") else _text_names_cached(text)
        for name in found:
            if len(out) >= NAMES_MAX:
                return list(out.items())
            if name in out or name in common or len(name) < 4 or not name[0].isalpha():
                continue
            words = name.split()
            if len(words) == 1:
                if name in _NOT_OWN or name in company_words:
                    continue
                if lower is None:
                    lower = set(_LOWER_WORD.findall(f"{spec.title[:2_000]} {statement}"))
                if name in lower:
                    continue
            # "Carbon Neutral Plan", "Scunthorpe Steel": a name of everyday or company words
            # alone says no more than those words do.
            if all(w in company_words or w in _NOT_OWN or w in common for w in words):
                continue
            out[name] = origin
    return list(out.items())


def own_products(spec: PledgeIn) -> frozenset[str]:
    """The company's products the pledge itself is about (named in title or subject)."""
    if not spec.company.products:
        return frozenset()
    own_text = fold(" ".join([spec.title, *spec.subject]))[0]
    return frozenset(fold_term(p) for p in spec.company.products if f" {fold_term(p)} " in own_text)


_CUE_WORDS = (
    frozenset(
        fold_term(w) for kind, words in CUE_KINDS.items() if kind not in OBJECT_CUES for w in words
    )
    | STOPWORDS
)
# Words never taken from a pledge's own text.
_NOT_OWN = _CUE_WORDS | GENERAL_WORDS


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


@dataclass(frozen=True)
class _CompanyTerms:
    """What one company's names add to the catalogue (the same for each of its pledges)."""

    names: tuple[str, ...]  # name, aliases and short forms
    words: frozenset[str]  # every folded word of those and of its products
    name_words: frozenset[str]  # every folded word of its names alone


def _company_terms(company: CompanyIn) -> _CompanyTerms:
    names = (company.name, *company.aliases, *short_names(company.name, company.aliases))
    every = (*names, *company.products)
    return _CompanyTerms(
        names,
        frozenset(w for n in every for w in fold_term(n).split()),
        frozenset(w for n in names for w in fold_term(n).split()),
    )


class _Vocabulary:
    """Folded term -> what it stands for, built up pledge by pledge."""

    def __init__(self) -> None:
        self.by_term: dict[str, Term] = {}

    def term(self, text: str) -> Term | None:
        folded = fold_term(text)
        if not folded:
            return None
        return self.folded(folded)

    def folded(self, folded: str) -> Term:
        """The entry of a term already in folded form (a word taken from folded text)."""
        found = self.by_term.get(folded)
        if found is None:
            found = self.by_term[folded] = Term()
        return found


def _loose_words(vocab: _Vocabulary, pi: int, k: int, words: Iterable[str]) -> None:
    """Index the content words of loose phrase `k` of pledge `pi` (with their variants)."""
    for j, word in enumerate(words):
        for variant in _loose_variants(word):
            vocab.folded(variant).words.setdefault(pi, []).append((k, j))


def compile_catalogue(pledges: Iterable[PledgeIn]) -> Compiled:
    """Build the automaton and payloads for a whole catalogue."""
    company_index: dict[str, int] = {}
    company_terms: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _CompanyTerms] = {}
    compiled: list[CompiledPledge] = []
    vocab = _Vocabulary()
    gate_terms: list[str] = []

    specs = list(pledges)
    companies: list[_CompanyTerms] = []
    for spec in specs:
        c = spec.company
        key = (c.name, tuple(c.aliases), tuple(c.products))
        found_terms = company_terms.get(key)
        if found_terms is None:
            found_terms = company_terms[key] = _company_terms(c)
            gate_terms += [*found_terms.names, *c.products]
        companies.append(found_terms)
    own = [derived_words(spec, ct.words) for spec, ct in zip(specs, companies, strict=True)]
    # A word in the own text of many pledges tells none of them apart (and would tie an
    # article to all of them): only words rarer than this across the catalogue are used.
    frequency = Counter(w for words in own for w, _ in words)
    common = max(DERIVED_SHARED_MIN, len(specs) // 100)
    shared_names = common_names()
    names = [
        pledge_names(spec, ct.name_words, shared_names)
        for spec, ct in zip(specs, companies, strict=True)
    ]
    name_frequency = Counter(n for found in names for n, _ in found)
    # A name the pledges of several companies use stands for none of them.
    name_owners: dict[str, set[str]] = {}
    for spec, found in zip(specs, names, strict=True):
        for n, _ in found:
            name_owners.setdefault(n, set()).add(spec.company.name)
    named: set[tuple[int, int]] = set()
    for spec, found, ct, own_names in zip(specs, own, companies, names, strict=True):
        ci = company_index.setdefault(spec.company.name, len(company_index))
        pi = len(compiled)
        kept_names = tuple(
            (n, o) for n, o in own_names if name_frequency[n] <= common and len(name_owners[n]) == 1
        )
        for n, _ in kept_names:
            vocab.folded(n).names.add(pi)
        gate_terms += [n for n, _ in kept_names]
        phrase_words: list[int] = []
        for k, phrase in enumerate(spec.subject):
            if (t := vocab.term(phrase)) is not None:
                t.subjects.add(pi)
            words = _content_words(phrase)
            phrase_words.append(len(words) if len(words) >= 2 else 0)
            if len(words) >= 2:
                _loose_words(vocab, pi, k, words)
        derived = [(w, origin) for w, origin in found if frequency[w] <= common]
        need = [n if n <= 2 else math.ceil(2 * n / 3) for n in phrase_words]
        if len(derived) >= 2:
            k = len(phrase_words)  # the next loose phrase's index
            phrase_words.append(len(derived))
            need.append(2)
            for j, (word, _) in enumerate(derived):
                for variant in _forms(word):
                    vocab.folded(variant).words.setdefault(pi, []).append((k, j))
        else:
            derived = []
        core = core_words(spec.subject, ct.words)
        if core:
            k = len(phrase_words)  # the next loose phrase's index
            phrase_words.append(len(core))
            need.append(1)
            _loose_words(vocab, pi, k, core)
        # Product words stay: "PAC contributions" is the subject even when "Toyota PAC" is
        # a product; only the company's own names say nothing about the subject.
        pooled = pooled_words(spec.subject, ct.name_words)
        if pooled:
            k = len(phrase_words)  # the next loose phrase's index
            phrase_words.append(len(pooled))
            need.append(2)
            _loose_words(vocab, pi, k, pooled)
        compiled.append(
            CompiledPledge(
                spec,
                ci,
                tuple(phrase_words),
                tuple(need),
                tuple(derived),
                tuple(core),
                tuple(pooled),
                kept_names,
            )
        )
        # A company's names and products stand for it alike in each of its pledges.
        if (ci, id(ct)) not in named:
            named.add((ci, id(ct)))
            for n in ct.names:
                if (t := vocab.term(n)) is not None:
                    t.companies.add(ci)
            for n in spec.company.products:
                if (t := vocab.term(n)) is not None:
                    t.products.add(ci)
        for n in spec.scope:
            if (t := vocab.term(n)) is not None:
                t.scopes.add(pi)
    for kind, cue_words in CUE_KINDS.items():
        for cue in cue_words:
            if (t := vocab.term(cue)) is not None:
                t.cues.add(kind)

    gate = Matcher(gate_terms)
    pregate = Matcher(_rarest_words(gate.terms))
    matcher = Matcher(vocab.by_term)
    terms = [vocab.by_term[t] for t in matcher.terms]
    return Compiled(compiled, gate, matcher, terms, pregate)
