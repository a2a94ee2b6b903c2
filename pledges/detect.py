"""Breach and rollback detection (pure): a compiled catalogue scans article text.

`Detector.compile(pledges)` builds one automaton over every company name, alias,
product, subject and scope phrase plus the shared cue lexicons. `scan` finds every
mention in one pass, ties a pledge only where its company and subject meet, weighs
scope, cues and timing, and returns explained findings. Cost per article depends on
the text and the pledges it actually mentions, not on the catalogue size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from pledges.lexicon import (
    AFFIRM,
    BREACH_STRONG,
    COMMITMENT,
    CONDUCT,
    DEFAULT_WEIGHTS,
    DENIAL,
    ROLLBACK,
    Weights,
)
from pledges.models import PledgeIn
from pledges.textmatch import Hit, Matcher, fold, split_sentences

DETECTOR_VERSION = "lexical-1"
MAX_TEXT = 1_000_000

CUE_KINDS = {
    "breach": BREACH_STRONG,
    "conduct": CONDUCT,
    "rollback": ROLLBACK,
    "affirm": AFFIRM,
    "commitment": COMMITMENT,
    "denial": DENIAL,
}


@dataclass(frozen=True)
class Span:
    """A matched phrase inside an evidence sentence (offsets relative to the sentence)."""

    start: int
    end: int
    text: str
    role: str  # company | subject | scope | breach | rollback | ...


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
                {"start": s.start, "end": s.end, "text": s.text, "role": s.role}
                for s in self.spans
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
    subjects: set[int] = field(default_factory=set)  # pledge indexes
    scopes: set[int] = field(default_factory=set)  # pledge indexes
    cues: set[str] = field(default_factory=set)


@dataclass
class _Pledge:
    spec: PledgeIn
    company: int


class Detector:
    """A compiled catalogue; `scan` is pure and thread-safe."""

    def __init__(
        self,
        pledges: Sequence[_Pledge],
        companies: Sequence[str],
        matcher: Matcher,
        terms: list[_Term],
        weights: Weights,
    ) -> None:
        self._pledges = pledges
        self._companies = companies
        self._matcher = matcher
        self._terms = terms
        self.weights = weights
        self._by_company: dict[int, list[int]] = defaultdict(list)
        for i, p in enumerate(pledges):
            self._by_company[p.company].append(i)

    @classmethod
    def compile(cls, pledges: Iterable[PledgeIn], weights: Weights = DEFAULT_WEIGHTS) -> Detector:
        """Build the automaton for a whole catalogue (once per catalogue change)."""
        company_index: dict[str, int] = {}
        companies: list[str] = []
        compiled: list[_Pledge] = []
        entries: list[tuple[str, str, int | str]] = []  # (term, role, payload)
        for spec in pledges:
            name = spec.company.name
            if name not in company_index:
                company_index[name] = len(companies)
                companies.append(name)
            ci = company_index[name]
            pi = len(compiled)
            compiled.append(_Pledge(spec, ci))
            for t in (name, *spec.company.aliases):
                entries.append((t, "company", ci))
            for t in spec.company.products:
                entries.append((t, "product", ci))
            for t in spec.subject:
                entries.append((t, "subject", pi))
            for t in spec.scope:
                entries.append((t, "scope", pi))
        for kind, words in CUE_KINDS.items():
            for w in words:
                entries.append((w, "cue", kind))

        matcher = Matcher(t for t, _, _ in entries)
        terms = [_Term() for _ in matcher.terms]
        for t, role, payload in entries:
            idx = matcher.index_of(t)
            if idx is None:
                continue
            term = terms[idx]
            if role == "company":
                term.companies.add(int(payload))
            elif role == "product":
                term.products.add(int(payload))
            elif role == "subject":
                term.subjects.add(int(payload))
            elif role == "scope":
                term.scopes.add(int(payload))
            else:
                term.cues.add(str(payload))
        return cls(compiled, companies, matcher, terms, weights)

    @property
    def size(self) -> int:
        return len(self._pledges)

    def scan(self, title: str, text: str, published: datetime | date | None) -> list[Finding]:
        """Findings for one article, best first."""
        title = (title or "")[:2_000]
        text = (text or "")[:MAX_TEXT]
        doc = f"{title}\n{text}" if title else text
        title_end = len(title) if title else -1
        folded, offsets = fold(doc)
        hits = self._matcher.find(folded, offsets)
        if not hits:
            return []

        sentences = ([(0, len(title))] if title else []) + [
            (a + len(title) + 1, b + len(title) + 1) if title else (a, b)
            for a, b in split_sentences(text)
        ]
        starts = [s for s, _ in sentences]

        def sentence_of(pos: int) -> int:
            lo, hi = 0, len(starts) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if starts[mid] <= pos:
                    lo = mid
                else:
                    hi = mid - 1
            return lo

        located: list[tuple[int, Hit]] = [(sentence_of(h.start), h) for h in hits]
        company_sents: dict[int, set[int]] = defaultdict(set)
        product_sents: dict[int, set[int]] = defaultdict(set)
        subject_sents: dict[int, set[int]] = defaultdict(set)
        scope_sents: dict[int, set[int]] = defaultdict(set)
        cue_sents: dict[str, dict[int, list[Hit]]] = defaultdict(lambda: defaultdict(list))
        for si, h in located:
            term = self._terms[h.term]
            for c in term.companies:
                company_sents[c].add(si)
            for c in term.products:
                product_sents[c].add(si)
            for p in term.subjects:
                subject_sents[p].add(si)
            for p in term.scopes:
                scope_sents[p].add(si)
            for kind in term.cues:
                cue_sents[kind][si].append(h)

        pub = published.date() if isinstance(published, datetime) else published
        findings: list[Finding] = []
        for ci in set(company_sents) | set(product_sents):
            for pi in self._by_company.get(ci, ()):
                f = self._score(
                    pi, ci, doc, sentences, located, title_end >= 0,
                    company_sents, product_sents, subject_sents, scope_sents, cue_sents, pub,
                )
                if f is not None:
                    findings.append(f)
        findings.sort(key=lambda f: -f.score)
        return findings

    def _score(
        self,
        pi: int,
        ci: int,
        doc: str,
        sentences: list[tuple[int, int]],
        located: list[tuple[int, Hit]],
        has_title: bool,
        company_sents: dict[int, set[int]],
        product_sents: dict[int, set[int]],
        subject_sents: dict[int, set[int]],
        scope_sents: dict[int, set[int]],
        cue_sents: dict[str, dict[int, list[Hit]]],
        pub: date | None,
    ) -> Finding | None:
        w = self.weights
        spec = self._pledges[pi].spec
        comp = company_sents.get(ci, set())
        prod = product_sents.get(ci, set())
        subj = subject_sents.get(pi, set())
        # A product names the company and stands in for the pledge's subject.
        subject_like = subj | prod
        company_like = comp | prod
        if not subject_like:
            return None
        if pub is not None and pub < spec.made_on:
            return None

        reasons: list[str] = []
        raw = 0.0
        same = company_like & subject_like
        near: set[int] = set()
        if same and (comp & subj or prod):
            raw += w.tie_sentence
            near = set(same)
            reasons.append("company and subject in one sentence")
        else:
            pairs = [
                (a, b) for a in company_like for b in subject_like if abs(a - b) <= w.window
            ]
            if pairs:
                raw += w.tie_window
                near = {x for pair in pairs for x in pair}
                reasons.append("company and subject in adjacent sentences")
            elif has_title and 0 in company_like:
                raw += w.tie_article
                near = set(subject_like) | {0}
                reasons.append("company in the headline, subject in the text")
            else:
                return None
        # The window around the tie, where scope and cues count most.
        window = {s + d for s in near for d in range(-w.window, w.window + 1)} | (
            {0} if has_title else set()
        )
        if has_title and 0 in company_like:
            raw += w.title_company
        if has_title and 0 in subject_like:
            raw += w.title_subject
            reasons.append("subject in the headline")

        scope = scope_sents.get(pi, set())
        if scope & window:
            raw += w.scope_near
            reasons.append("scope term near the tie")
        elif scope:
            raw += w.scope_far
            reasons.append("scope term in the article")

        def cues(kind: str) -> list[tuple[int, Hit]]:
            return [(s, h) for s, hs in cue_sents.get(kind, {}).items() if s in window for h in hs]

        commit = cues("commitment")
        if commit:
            raw += w.commitment_near
            reasons.append("refers to a commitment")
        breach = cues("breach")
        conduct = cues("conduct")
        rollback = cues("rollback")
        affirm = cues("affirm")
        denial = cues("denial")
        breach_score = min(len({doc[h.start:h.end].lower() for _, h in breach}), w.breach_cap)
        rollback_score = min(len({doc[h.start:h.end].lower() for _, h in rollback}), w.rollback_cap)
        raw += breach_score * w.breach_strong
        raw += rollback_score * w.rollback
        if conduct and scope & window:
            raw += w.conduct_scoped
            reasons.append("conduct within the pledge's scope")
        if breach_score:
            reasons.append("breach language: " + ", ".join(sorted({doc[h.start:h.end] for _, h in breach})[:4]))
        if rollback_score:
            reasons.append("rollback language: " + ", ".join(sorted({doc[h.start:h.end] for _, h in rollback})[:4]))
        if has_title and any(s == 0 for s, _ in breach + rollback):
            raw += w.cue_in_title
            reasons.append("breach or rollback language in the headline")
        if affirm:
            raw += w.affirm_each * min(len(affirm), 3)
            if not breach_score and not rollback_score:
                raw += w.affirm_only
            reasons.append("announcement or extension language: " + ", ".join(sorted({doc[h.start:h.end] for _, h in affirm})[:3]))
        response = None
        if denial:
            raw += w.denial
            response = "denied"
            reasons.append("company response reported: " + ", ".join(sorted({doc[h.start:h.end] for _, h in denial})[:3]))
        if pub is not None and (pub - spec.made_on).days <= w.early_days:
            raw += w.early
            reasons.append("published within days of the pledge (likely coverage of it)")

        score = 1.0 / (1.0 + math.exp(-(raw - w.bias)))
        if score < w.threshold:
            return None
        kind = "rollback" if rollback_score > breach_score else "breach"
        if spec.effective_until is not None and pub is not None and pub > spec.effective_until and rollback_score:
            kind = "rollback"
            reasons.append("deadline has passed")
        evidence = self._evidence(doc, sentences, located, ci, pi, window, has_title)
        return Finding(
            pledge_id=spec.id,
            kind=kind,
            score=round(score, 3),
            reasons=tuple(reasons),
            evidence=evidence,
            response=response,
        )

    def _evidence(
        self,
        doc: str,
        sentences: list[tuple[int, int]],
        located: list[tuple[int, Hit]],
        ci: int,
        pi: int,
        window: set[int],
        has_title: bool,
    ) -> tuple[Evidence, ...]:
        by_sentence: dict[int, list[Span]] = defaultdict(list)
        for si, h in located:
            if si not in window:
                continue
            term = self._terms[h.term]
            role = None
            if ci in term.companies or ci in term.products:
                role = "company"
            elif pi in term.subjects:
                role = "subject"
            elif pi in term.scopes:
                role = "scope"
            else:
                for kind in ("breach", "rollback", "denial", "commitment"):
                    if kind in term.cues:
                        role = kind
                        break
            if role is None:
                continue
            s0 = sentences[si][0]
            by_sentence[si].append(Span(h.start - s0, h.end - s0, doc[h.start:h.end], role))

        def weight(si: int) -> tuple[int, int]:
            roles = {s.role for s in by_sentence[si]}
            return (len(roles), -si)

        best = sorted(by_sentence, key=weight, reverse=True)[: self.weights.evidence_sentences]
        out = []
        for si in sorted(best):
            a, b = sentences[si]
            spans = tuple(sorted(by_sentence[si], key=lambda s: s.start))
            out.append(Evidence(doc[a:b], spans, in_title=has_title and si == 0))
        return tuple(out)
