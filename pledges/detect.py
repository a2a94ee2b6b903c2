"""Breach and rollback detection (pure): a compiled catalogue scans article text.

`Detector.compile(pledges)` builds one automaton over every company name, alias,
product, subject phrase (and its words, for loose matches), scope phrase and the shared
cue lexicons. `scan` finds every mention in one pass, ties a pledge only where its
company and subject meet, weighs scope, cues, timing and the pledge's recorded history,
and returns explained findings. Cost per article depends on the text and on the pledges
of the companies it names, not on the catalogue size.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from pledges.lexicon import (
    ADVOCACY,
    AFFIRM,
    BREACH,
    COMMITMENT,
    CONDUCT,
    CORPORATE_SUFFIXES,
    DEFAULT_WEIGHTS,
    DENIAL,
    EQUIVALENT,
    FULFIL,
    INDUSTRY_TAILS,
    INVESTIGATION,
    LEGAL,
    NEGATION,
    PERSIST,
    PROHIBITION_WORDS,
    REVERSE,
    RISING,
    STOPWORDS,
    WEAKEN,
    WITHDRAW,
    Weights,
)
from pledges.models import PledgeIn
from pledges.textmatch import Hit, Matcher, fold, fold_term, split_sentences

DETECTOR_VERSION = "lexical-5"
MAX_TEXT = 1_000_000
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
}
# Kinds of pledge that a resumption of the activity undoes.
GIVING_UP = frozenset({"moratorium", "ban", "exit"})
EVIDENCE_ROLES = (
    "company",
    "subject",
    "scope",
    "breach",
    "weaken",
    "reverse",
    "denial",
    "commitment",
)


@dataclass(frozen=True)
class Span:
    """A matched phrase inside an evidence sentence (offsets relative to the sentence)."""

    start: int
    end: int
    text: str
    role: str


@dataclass(frozen=True)
class Evidence:
    """A sentence that supports a finding, with what matched in it."""

    sentence: str
    spans: tuple[Span, ...]
    in_title: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "sentence": self.sentence,
            "in_title": self.in_title,
            "spans": [
                {"start": s.start, "end": s.end, "text": s.text, "role": s.role} for s in self.spans
            ],
        }


@dataclass(frozen=True)
class Finding:
    """A possible breach or rollback of one pledge in one article, explained."""

    pledge_id: str
    kind: str  # breach | rollback
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    response: str | None = None


@dataclass
class _Term:
    companies: set[int] = field(default_factory=set)
    products: set[int] = field(default_factory=set)
    subjects: set[int] = field(default_factory=set)  # pledge indexes (whole phrase)
    scopes: set[int] = field(default_factory=set)
    # Loose subject words: pledge index -> [(phrase index, word index)]
    words: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    cues: set[str] = field(default_factory=set)


@dataclass
class _Pledge:
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


def _content_words(phrase: str) -> list[str]:
    return [w for w in fold_term(phrase).split() if w not in STOPWORDS and len(w) > 1]


def _classify_event(text: str, affirm: Matcher, weaken: Matcher) -> str | None:
    folded, offsets = fold(text)
    if weaken.find(folded, offsets):
        return "weaken"
    if affirm.find(folded, offsets):
        return "affirm"
    return None


@dataclass
class _Article:
    """Per-scan state: where every kind of mention sits, by sentence."""

    doc: str
    folded: str
    sentences: list[tuple[int, int]]
    has_title: bool
    located: list[tuple[int, Hit]]
    company: dict[int, set[int]]
    product: dict[tuple[int, int], set[int]]  # (company, term) -> sentences
    subject: dict[int, set[int]]
    scope: dict[int, set[int]]
    words: dict[tuple[int, int], dict[int, set[int]]]  # (pledge, phrase) -> sentence -> words
    cues: dict[str, list[tuple[int, Hit]]]  # kind -> (sentence, hit), negated ones left out

    def cue_hits(self, kind: str, window: set[int]) -> list[tuple[int, Hit]]:
        return [(s, h) for s, h in self.cues.get(kind, ()) if s in window]

    def text_of(self, hits: Iterable[tuple[int, Hit]]) -> list[str]:
        return sorted({self.doc[h.start : h.end].lower() for _, h in hits})


_YEARS_LATER = re.compile(r"\bfrom ((?:19|20)\d\d) to ((?:19|20)\d\d)\b")
_YEARS_INSTEAD = re.compile(
    r"\b((?:19|20)\d\d),? (?:instead of|rather than|not|from|replacing) ((?:19|20)\d\d)\b"
)


def _deadline_moved_later(art: _Article, window: set[int]) -> str | None:
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


def _common(a: Collection[int], b: set[int]) -> Iterable[int]:
    """Members of both, iterating the smaller side (pledge sets can be large)."""
    if len(a) <= len(b):
        return [x for x in a if x in b]
    return [x for x in b if x in a]


class Detector:
    """A compiled catalogue; `scan` is pure and safe to call from many threads."""

    def __init__(
        self,
        pledges: Sequence[_Pledge],
        gate: Matcher,
        matcher: Matcher,
        terms: list[_Term],
        weights: Weights,
    ) -> None:
        self._pledges = pledges
        # Company names, aliases and products only: decides cheaply whether to look closer.
        self._gate = gate
        self._matcher = matcher
        self._terms = terms
        self.weights = weights
        self._by_company: dict[int, list[int]] = defaultdict(list)
        for i, p in enumerate(pledges):
            self._by_company[p.company].append(i)

    @classmethod
    def compile(cls, pledges: Iterable[PledgeIn], weights: Weights = DEFAULT_WEIGHTS) -> Detector:
        """Build the automaton for a whole catalogue (once per catalogue change)."""
        affirm_m = Matcher(AFFIRM)
        weaken_m = Matcher(WEAKEN + ("withdrawn", "dropped", "removed", "abandoned"))
        company_index: dict[str, int] = {}
        compiled: list[_Pledge] = []
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
                words = _content_words(phrase)
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
                _Pledge(
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
        terms = [_Term() for _ in matcher.terms]
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
        return cls(compiled, gate, matcher, terms, weights)

    @property
    def size(self) -> int:
        return len(self._pledges)

    def scan(self, title: str, text: str, published: datetime | date | None) -> list[Finding]:
        """Findings for one article, best first."""
        art = self._locate(title or "", text or "")
        if art is None:
            return []
        pub = published.date() if isinstance(published, datetime) else published
        # Only pledges whose subject (or one of their products) appears can be tied.
        candidates = set(art.subject)
        for (pi, k), by_sentence in art.words.items():
            need = self._pledges[pi].phrase_need[k]
            if pi not in candidates and any(len(f) >= need for f in by_sentence.values()):
                candidates.add(pi)
        products = {(c, self._matcher.terms[t]) for c, t in art.product}
        for c, term in products:
            for pi in self._by_company.get(c, ()):
                if term in self._pledges[pi].products:
                    candidates.add(pi)
        findings = []
        for pi in sorted(candidates):
            f = self._score(art, pi, self._pledges[pi].company, pub)
            if f is not None:
                findings.append(f)
        findings.sort(key=lambda f: -f.score)
        return findings

    def _locate(self, title: str, text: str) -> _Article | None:
        title = " ".join(title[:2_000].split())
        text = text[:MAX_TEXT]
        doc = f"{title}\n{text}" if title else text
        folded, offsets = fold(doc)
        if not self._gate.any(folded):
            return None  # most articles name no catalogue company: one cheap pass
        hits = self._matcher.find(folded, offsets)
        terms = self._terms
        companies = {c for h in hits for t in (terms[h.term],) for c in (*t.companies, *t.products)}
        if not companies:
            return None  # most articles: no catalogue company, nothing more to do
        wanted = {pi for c in companies for pi in self._by_company.get(c, ())}
        if not any(
            _common(t.subjects, wanted) or _common(t.words, wanted) or t.products
            for t in (terms[h.term] for h in hits)
        ):
            return None  # the company is named in passing: none of its pledges' subjects
        shift = len(title) + 1 if title else 0
        sentences = ([(0, len(title))] if title else []) + [
            (a + shift, b + shift) for a, b in split_sentences(text)
        ]
        if not sentences:
            return None
        starts = [s for s, _ in sentences]
        located = [(bisect_right(starts, h.start) - 1, h) for h in hits]
        art = _Article(
            doc,
            folded,
            sentences,
            bool(title),
            located,
            defaultdict(set),
            defaultdict(set),
            defaultdict(set),
            defaultdict(set),
            defaultdict(lambda: defaultdict(set)),
            defaultdict(list),
        )
        for si, h in located:
            term = terms[h.term]
            for c in term.companies:
                art.company[c].add(si)
            for c in term.products:
                art.product[(c, h.term)].add(si)
            if term.cues and not self._negated(folded, h):
                for kind in term.cues:
                    art.cues[kind].append((si, h))
            if term.subjects:
                for pi in _common(term.subjects, wanted):
                    art.subject[pi].add(si)
            if term.scopes:
                for pi in _common(term.scopes, wanted):
                    art.scope[pi].add(si)
            if term.words:
                for pi in _common(term.words, wanted):
                    for k, j in term.words[pi]:
                        art.words[(pi, k)][si].add(j)
        return art

    @staticmethod
    def _negated(folded: str, hit: Hit) -> bool:
        """A negation among the three words before the hit, or "no" right after it."""
        start = hit.fpos - 40
        words = folded[start if start > 0 else 0 : hit.fpos].split()[-3:]
        if any(w in NEGATION for w in words):
            return True
        after = folded[hit.fpos : hit.fpos + 80].split()
        n = len(folded[hit.fpos : hit.fend].split()) if hit.fend else 1
        return len(after) > n and after[n] in ("no", "nothing", "none")

    def _subject_sentences(self, art: _Article, pi: int) -> tuple[set[int], set[int]]:
        """Sentences naming the pledge's subject: exact phrase (or product), and loose."""
        p = self._pledges[pi]
        exact = set(art.subject.get(pi, set()))
        for (c, term), sents in art.product.items():
            if c == p.company and self._matcher.terms[term] in p.products:
                exact |= sents
        loose: set[int] = set()
        for k, n in enumerate(p.phrase_words):
            if n < 2:
                continue
            need = p.phrase_need[k]
            for si, found in art.words.get((pi, k), {}).items():
                if len(found) >= need:
                    loose.add(si)
        return exact, loose - exact

    def _score(self, art: _Article, pi: int, ci: int, pub: date | None) -> Finding | None:
        w = self.weights
        p = self._pledges[pi]
        spec = p.spec
        if pub is not None and pub < spec.made_on:
            return None  # a pledge binds from the day it was made
        exact, loose = self._subject_sentences(art, pi)
        subject = exact | loose
        if not subject:
            return None
        company = set(art.company.get(ci, set()))
        for (c, _), sents in art.product.items():
            if c == ci:
                company |= sents

        reasons: list[str] = []
        raw = 0.0
        strength = 1.0 if exact else w.loose_subject
        same = company & subject
        if same:
            raw += w.tie_sentence * strength
            near = set(same)
            reasons.append("company and subject in one sentence")
        else:
            pairs = [(a, b) for a in company for b in subject if abs(a - b) <= w.window]
            if pairs:
                raw += w.tie_window * strength
                near = {x for pair in pairs for x in pair}
                reasons.append("company and subject in adjacent sentences")
            elif art.has_title and 0 in company:
                raw += w.tie_article * strength
                near = set(subject)
                reasons.append("company in the headline, subject in the text")
            elif art.has_title and 0 in subject:
                raw += w.tie_article * strength
                near = {0, min(company)}
                reasons.append("subject in the headline, company in the text")
            else:
                return None
        if loose and not exact:
            reasons.append("subject matched word by word")
        window = {s + d for s in near for d in range(-w.window, w.window + 1)}
        if art.has_title:
            window.add(0)
            if 0 in company:
                raw += w.title_company
            if 0 in subject:
                raw += w.title_subject
                reasons.append("subject in the headline")

        scope = art.scope.get(pi, set())
        if scope & window:
            raw += w.scope_near
            reasons.append("scope term near the tie")
        elif scope:
            raw += w.scope_far
            reasons.append("scope term in the article")
        elif spec.scope:
            raw += w.scope_missing

        commitment = art.cue_hits("commitment", window)
        if commitment:
            raw += w.commitment_near
            reasons.append("refers to a commitment")
        breach = art.text_of(art.cue_hits("breach", window))
        weaken_hits = art.cue_hits("weaken", window)
        commit_sents = {s for s, _ in commitment} | subject
        weaken_strong = art.text_of((s, h) for s, h in weaken_hits if s in commit_sents)
        weaken = art.text_of(weaken_hits)
        resumed: list[str] = []
        persisting: list[str] = []
        if spec.kind.value in GIVING_UP or (p.prohibitive and scope & window):
            resumed = art.text_of(h for h in art.cue_hits("reverse", window) if h[0] in subject)
            persisting = art.text_of(h for h in art.cue_hits("persist", window) if h[0] in subject)
        # Both undo giving something up and score alike; only the kind tells them apart.
        reverse = sorted({*resumed, *persisting})
        # Leaving or walking away from something: a rollback, unless leaving is the pledge.
        withdraw = art.text_of(art.cue_hits("withdraw", window))
        if withdraw and spec.kind.value != "exit":
            weaken = sorted({*weaken, *withdraw})
            weaken_strong = sorted({*weaken_strong, *withdraw})
        legal = art.text_of(art.cue_hits("legal", window))
        if legal:
            breach = sorted({*breach, *legal})
        affirm = art.text_of(art.cue_hits("affirm", window))
        conduct = art.cue_hits("conduct", window)
        # A target's measured quantity rising (emissions up 30%) reports it off track.
        rising = (
            art.text_of((s, h) for s, h in art.cue_hits("rising", window) if s in subject)
            if spec.kind.value == "target"
            else []
        )
        tight = bool(same) or (art.has_title and 0 in company)
        investigation = art.text_of(art.cue_hits("investigation", window)) if tight else []
        later = _deadline_moved_later(art, window)
        if later:
            weaken = sorted({*weaken, later})
            weaken_strong = sorted({*weaken_strong, later})

        breach_n = min(len(breach), w.breach_cap)
        weaken_n = min(len(weaken), w.weaken_cap)
        weaken_strong_n = min(len(weaken_strong), w.weaken_cap)
        reverse_n = min(len(reverse), w.reverse_cap)
        raw += breach_n * w.breach
        raw += weaken_strong_n * w.weaken_with_commitment
        raw += (weaken_n - weaken_strong_n) * w.weaken_alone
        raw += reverse_n * w.reverse
        if breach:
            reasons.append("breach language: " + ", ".join(breach[:4]))
        if weaken:
            reasons.append("rollback language: " + ", ".join(weaken[:4]))
        if resumed:
            reasons.append("resumption language: " + ", ".join(resumed[:4]))
        if persisting:
            reasons.append("still going on despite the pledge: " + ", ".join(persisting[:4]))
        if rising:
            raw += w.rising
            reasons.append("target's measure reported rising: " + ", ".join(rising[:3]))
        if investigation:
            raw += w.investigation
            reasons.append("findings reported: " + ", ".join(investigation[:3]))
        if conduct and scope & window:
            raw += w.conduct_scoped
            reasons.append("conduct within the pledge's scope")
        title_cues = {
            "reverse" if k == "persist" else k
            for k in ("breach", "weaken", "reverse", "persist")
            for s, _ in art.cue_hits(k, {0})
            if s == 0
        }
        title_topic = 0 in subject or any(s == 0 for s, _ in commitment)
        counted = {"breach"} | ({"weaken"} if title_topic or 0 in company else set())
        if reverse:
            counted.add("reverse")
        if art.has_title and title_cues & counted:
            raw += w.cue_in_title
            reasons.append("breach or rollback language in the headline")
            # "Company scraps goal", "Company breaks promise": the story is the pledge.
            if 0 in company and title_topic:
                raw += w.headline_pattern
                reasons.append("headline names the company, the pledge and what happened")
        if affirm:
            raw += w.affirm_each * min(len(affirm), w.affirm_cap)
            if not breach and not weaken_strong and not reverse:
                raw += w.affirm_only
            reasons.append("language of making or keeping the pledge: " + ", ".join(affirm[:3]))
        response = None
        denial = art.text_of(art.cue_hits("denial", window))
        if denial:
            raw += w.denial
            response = "denied"
            reasons.append("company response reported: " + ", ".join(denial[:3]))
        if pub is not None:
            if (pub - spec.made_on).days <= w.early_days:
                raw += w.early
                reasons.append("published within days of the pledge being made")
            if any(abs((pub - d).days) <= w.event_days for d in p.affirm_dates):
                raw += w.event_affirm
                reasons.append("coincides with a recorded extension or reaffirmation")
            if any(0 <= (pub - d).days <= w.event_days for d in p.weaken_dates):
                raw += w.event_weaken
                reasons.append("coincides with a recorded rollback")

        advocacy = art.text_of(art.cue_hits("advocacy", window))
        if advocacy and not breach:
            raw += w.advocacy
            reasons.append("advocacy asking the company to act: " + ", ".join(advocacy[:3]))
        if spec.kind.value == "exit" and not reverse:
            # Selling up and leaving is the exit being carried out, not broken.
            fulfil = art.text_of(art.cue_hits("fulfil", window))
            if fulfil:
                raw += w.fulfil
                reasons.append("reports the exit being carried out: " + ", ".join(fulfil[:3]))
        signal = breach or weaken or reverse or rising or investigation
        if not (signal or (conduct and scope & window)):
            return None  # a topical match without any breach or rollback signal is no flag
        score = 1.0 / (1.0 + math.exp(-(raw - w.bias)))
        if score < w.threshold:
            return None
        resumed_n = min(len(resumed), w.reverse_cap)
        persisting_n = min(len(persisting), w.reverse_cap)
        rollback_weight = weaken_strong_n * 2 + weaken_n + resumed_n * 2
        breach_weight = (breach_n + bool(rising) + persisting_n) * 2
        kind = "rollback" if rollback_weight > breach_weight else "breach"
        if spec.effective_until is not None and pub is not None and pub > spec.effective_until:
            if weaken:
                kind = "rollback"
                reasons.append("reported after the pledge's deadline")
        evidence = self._evidence(art, ci, pi, window)
        return Finding(spec.id, kind, round(score, 3), tuple(reasons), evidence, response)

    def _evidence(self, art: _Article, ci: int, pi: int, window: set[int]) -> tuple[Evidence, ...]:
        p = self._pledges[pi]
        by_sentence: dict[int, list[Span]] = defaultdict(list)
        for si, h in art.located:
            if si not in window:
                continue
            term = self._terms[h.term]
            role = None
            if ci in term.companies or ci in term.products:
                role = "company"
            elif pi in term.subjects or pi in term.words:
                role = "subject"
            elif pi in term.scopes:
                role = "scope"
            else:
                for kind in EVIDENCE_ROLES[3:]:
                    cues = term.cues
                    if kind == "reverse" and "persist" in cues:
                        cues = {*cues, "reverse"}  # shown like resumption
                    if kind in cues and (kind != "reverse" or p.spec.kind.value in GIVING_UP):
                        role = kind
                        break
            if role is None:
                continue
            s0 = art.sentences[si][0]
            by_sentence[si].append(Span(h.start - s0, h.end - s0, art.doc[h.start : h.end], role))

        def weight(si: int) -> tuple[int, int]:
            return (len({s.role for s in by_sentence[si]}), -si)

        best = sorted(by_sentence, key=weight, reverse=True)[: self.weights.evidence_sentences]
        out = []
        for si in sorted(best):
            a, b = art.sentences[si]
            spans = tuple(sorted(by_sentence[si], key=lambda s: s.start))
            out.append(Evidence(art.doc[a:b], spans, in_title=art.has_title and si == 0))
        return tuple(out)
