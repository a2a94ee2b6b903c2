"""Breach and rollback detection (pure): a compiled catalogue scans article text.

`Detector.compile(pledges)` builds one automaton over the catalogue
(`pledges.vocabulary`); `scan` finds every mention in one pass (`pledges.article`),
describes each pledge tied in the article by named features (`pledges.score`), and lets
a logistic model (`pledges.model`, fitted and shipped in `pledges/fitted/`) score them.
Cost per article depends on the text and on the pledges of the companies it names, not
on the catalogue size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pledges.article import MAX_TEXT, Article, locate
from pledges.bulk import collector_paused
from pledges.fitted import shipped_model
from pledges.kindwords import CLIP as WORDS_CLIP
from pledges.kindwords import FEATURE as WORDS_FEATURE
from pledges.kindwords import (
    REPORT_FEATURE,
    REPORT_READING,
    KindWords,
    article_terms,
    pledge_topic,
    shown,
    without_topic,
)
from pledges.lexicon import DEFAULT_WEIGHTS, Weights
from pledges.model import LinearModel, ModelError, kind_from, sigmoid
from pledges.models import PledgeIn
from pledges.score import Candidate, Evidence, Span, candidate, evidence, hand_model
from pledges.semantic import REPORT_CLIP as READING_CLIP
from pledges.semantic import REPORT_FEATURE as READING_FEATURE
from pledges.semantic import (
    Semantic,
    SemanticIndex,
    article_text,
    pledge_text,
    report_feature,
)
from pledges.textmatch import split_sentences
from pledges.vocabulary import Compiled, compile_catalogue, short_names

if TYPE_CHECKING:
    from pledges.encoder import Encoder

HAND_VERSION = "lexical-5"
# At most this many pledges are weighed for one article (a company with thousands of
# pledges sharing words must not make one article cost thousands of scorings).
MAX_CANDIDATES = 64


@dataclass(frozen=True)
class Finding:
    """A possible breach or rollback of one pledge in one article, explained."""

    pledge_id: str
    kind: str  # breach | rollback
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    response: str | None = None
    # The model that scored it (the flag records it; a rescan with another model updates it).
    detector_version: str = ""


@dataclass(frozen=True)
class _SemanticLayer:
    encoder: Encoder
    index: SemanticIndex
    # Off: the layer reads the articles lexical candidates could be flagged in, nothing else.
    flags: bool = True


def _listed(terms: list[str]) -> str:
    """Terms of a words reading as a reason lists them (negated ones in words)."""
    return ", ".join(map(shown, terms))


class Detector:
    """A compiled catalogue and a model; `scan` is pure and safe to call from many threads."""

    def __init__(
        self,
        compiled: Compiled,
        model: LinearModel,
        weights: Weights,
        semantic: _SemanticLayer | None = None,
    ) -> None:
        self._cat = compiled
        self.model = model
        self.weights = weights
        self._semantic = semantic
        # With the semantic layer, candidates are scored by the model fitted beside this
        # one with the layer's reading of the article as one more feature, where it has one.
        reading = semantic.index.model.flag_model(model) if semantic is not None else None
        self._flag_model = reading or model
        self._kind_words = model_words(model, "kind_words")
        self._report_words = model_words(model, "report_words")
        self._without_topic = model.meta.get("report_reading") == REPORT_READING
        # Each pledge's topic words, made when first needed (most pledges never are).
        self._topics: dict[int, frozenset[str]] = {}
        # How far the report readings can move a candidate's score (both are clipped).
        flag = self._flag_model
        self._words_reach = (
            abs(flag.weights.get(REPORT_FEATURE, 0.0)) * WORDS_CLIP
            if self._report_words is not None
            else 0.0
        )
        self._reading_reach = abs(flag.weights.get(READING_FEATURE, 0.0)) * READING_CLIP
        self._by_company: dict[int, list[int]] = defaultdict(list)
        for i, p in enumerate(compiled.pledges):
            self._by_company[p.company].append(i)

    @classmethod
    def compile(
        cls,
        pledges: Iterable[PledgeIn],
        weights: Weights | None = None,
        model: LinearModel | None = None,
        semantic: Semantic | None = None,
    ) -> Detector:
        """Build the automaton for a whole catalogue (once per catalogue change).

        Without a model the shipped fitted one scores; `weights` alone (a hand-set
        `Weights`) scores by hand as the detector did before it learned its weights.
        With `semantic`, every pledge not in `semantic.known` is embedded too (about 10 ms
        each, in batches), unless the layer only reads (`Semantic.flags` off).
        """
        if model is None:
            model = hand_model(weights, HAND_VERSION) if weights is not None else shipped_model()
        with collector_paused():
            compiled = compile_catalogue(pledges)
        layer = None
        if semantic is not None:
            texts = [pledge_text(p.spec.title, p.spec.statement) for p in compiled.pledges]
            # Pledge vectors serve only the layer's own flags.
            vectors = semantic.vectors(texts if semantic.flags else [])
            index = SemanticIndex(semantic.model, vectors)
            layer = _SemanticLayer(semantic.encoder, index, semantic.flags)
        return cls(compiled, model, weights or DEFAULT_WEIGHTS, layer)

    def with_model(self, model: LinearModel) -> Detector:
        """The same compiled catalogue scored by another model (no recompiling)."""
        return Detector(self._cat, model, self.weights, self._semantic)

    @property
    def semantic_version(self) -> str | None:
        """The semantic model's version when the layer is on."""
        return self._semantic.index.model.version if self._semantic is not None else None

    @property
    def version(self) -> str:
        """The model that scores lexical candidates (with the layer's reading, its name
        joins the flag model's and the semantic model's)."""
        return self._flag_model.version

    @property
    def size(self) -> int:
        return len(self._cat.pledges)

    @property
    def automaton_terms(self) -> int:
        """Distinct terms in the automaton (before inflected variants)."""
        return len(self._cat.matcher.terms)

    def pledge_id(self, pi: int) -> str:
        return self._cat.pledges[pi].spec.id

    def topic(self, pledges: Iterable[int]) -> frozenset[str]:
        """The words of these pledges' own texts (`pledge_topic`), together."""
        out: set[str] = set()
        for pi in pledges:
            words = self._topics.get(pi)
            if words is None:
                words = self._topics[pi] = pledge_topic(self._cat.pledges[pi].spec)
            out |= words
        return frozenset(out)

    def candidates(
        self, title: str, text: str, published: datetime | date | None
    ) -> list[Candidate]:
        """Every pledge tied in the article with a breach or rollback signal, unscored."""
        art = self._locate(title, text)
        if art is None:
            return []
        return self._candidates(art, published)

    def scan(self, title: str, text: str, published: datetime | date | None) -> list[Finding]:
        """Findings for one article, best first."""
        art = self._locate(title, text)
        found = self._candidates(art, published) if art is not None else []
        layer = self._semantic
        vector = None
        if layer is not None and layer.flags:
            vector = layer.encoder.encode([article_text(title or "", text or "")])[0]
        findings = self._semantic_finding(vector, published, found, title or "", text or "")
        if art is None:
            return findings
        model = self._flag_model
        # The article's words are read only when some candidate could reach the threshold
        # with them (most ties cannot, whatever the words say).
        cut = math.log(model.threshold / (1.0 - model.threshold))
        cutoff = cut - self._words_reach - self._reading_reach
        hopeful = [c for c in found if model.raw(c.features) >= cutoff]
        terms = None
        # The report reading, and the terms that read as a report (for reasons).
        report: tuple[float, list[str], list[str]] | None = None
        if hopeful and self._report_words is not None:
            terms = article_terms(title or "", text or "")
            # Only the terms the reading knows can count, so only those are looked at.
            seen = self._report_words.known(terms)
            if self._without_topic:
                # What reads as a report, apart from the words of the pledges weighed.
                seen = without_topic(seen, self.topic(c.pledge for c in hopeful))
            report = self._report_words.read_known(seen)
            for c in hopeful:
                c.features[REPORT_FEATURE] = report[0]
        if (
            layer is not None
            and vector is None
            and any(model.raw(c.features) + self._reading_reach >= cut for c in hopeful)
        ):
            # A layer that only reads embeds the articles where its reading could make or
            # unmake a flag (with the words read, most candidates are far from the cut).
            vector = layer.encoder.encode([article_text(title or "", text or "")])[0]
        # How the article reads, rollback or breach: the same for every pledge it ties.
        reading = None
        said: tuple[str, ...] = ()
        if layer is not None and vector is not None and hopeful:
            reading = (layer.index.model, layer.index.kind_logit(vector))
            # How strongly the layer reads it as a report at all, for the flag model.
            if self._reading_reach:
                logit = layer.index.report_logit(vector)
                for c in hopeful:
                    c.features[READING_FEATURE] = report_feature(logit)
                said = (
                    f"the semantic layer ({layer.index.model.version}) reads it as "
                    + (
                        "a report of a breach or rollback"
                        if logit > 0
                        else "coverage, not a report"
                    )
                    + f" (probability of a report {sigmoid(logit):.2f})",
                )
        # The kind and the reasons need the words only once a candidate is flagged.
        wording: dict[str, tuple[str, ...]] | None = None
        for c in hopeful:
            score = model.score(c.features)
            if score < model.threshold:
                continue
            if wording is None:
                wording = self._wording(hopeful, title or "", text or "", terms, report)
            kind = reading[0].kind_of(c.kind_features, reading[1]) if reading else None
            kind = kind or self._kind(c)
            ev = evidence(self._cat, art, c.pledge, c.window, self.weights.evidence_sentences)
            pid = self._cat.pledges[c.pledge].spec.id
            reasons = c.reasons + wording.get("report", ()) + said + wording.get(kind, ())
            findings.append(
                Finding(pid, kind, round(score, 3), reasons, ev, c.response, model.version)
            )
        findings.sort(key=lambda f: -f.score)
        return findings

    def _semantic_finding(
        self,
        vector: Any,
        published: datetime | date | None,
        tied: list[Candidate],
        title: str,
        text: str,
    ) -> list[Finding]:
        """The semantic layer's flag, for a pledge the lexical detector did not tie at all."""
        layer = self._semantic
        if layer is None or vector is None:
            return []
        match = layer.index.match(vector)
        if match is None or any(c.pledge == match.pledge for c in tied):
            return []
        # A floor raised above the model's own (`[detect] min_score`) holds for these too.
        if match.report < self.model.threshold:
            return []
        spec = self._cat.pledges[match.pledge].spec
        pub = published.date() if isinstance(published, datetime) else published
        if pub is not None and pub < spec.made_on:
            return []
        model = layer.index.model
        reasons = (
            "no name or word of the pledge matched; the semantic layer "
            f"({model.version}) read the report as about it",
            f"closest of {layer.index.size} pledges in meaning (similarity {match.similarity:.2f})",
            f"reads as a report of a breach or rollback (probability {match.report:.2f})",
        )
        lead = [s for s in (title, *(text[a:b] for a, b in split_sentences(text)[:1])) if s]
        evidence = tuple(
            Evidence(s, (), in_title=i == 0 and bool(title)) for i, s in enumerate(lead)
        )
        return [
            Finding(
                spec.id, match.kind, round(match.report, 3), reasons, evidence, None, model.version
            )
        ]

    def _wording(
        self,
        found: list[Candidate],
        title: str,
        text: str,
        terms: frozenset[str] | None,
        report: tuple[float, list[str], list[str]] | None,
    ) -> dict[str, tuple[str, ...]]:
        """Give every candidate the kind model's reading of the article's own words, and
        return the reasons to show: under "report", the terms that read as a report of a
        breach or rollback (from `report`, the report reading), and for each kind, the
        terms that leaned that way."""
        kind_words = self._kind_words
        if not found or (report is None and kind_words is None):
            return {}
        if terms is None:
            terms = article_terms(title, text)
        out: dict[str, tuple[str, ...]] = {}
        if report is not None and report[1]:
            out["report"] = (
                f"its wording reads like a report of a breach or rollback: {_listed(report[1])}",
            )
        if kind_words is not None:
            value, rollback, breach = kind_words.read_terms(terms)
            for c in found:
                c.kind_features[WORDS_FEATURE] = value
            if rollback:
                out["rollback"] = (f"its wording leans to a rollback: {_listed(rollback)}",)
            if breach:
                out["breach"] = (f"its wording leans to a breach: {_listed(breach)}",)
        return out

    def _kind(self, c: Candidate) -> str:
        kind_model = self.model.meta.get("kind")
        if isinstance(kind_model, dict) and c.kind_features:
            return kind_from(kind_model, c.kind_features)
        return c.kind

    def _locate(self, title: str, text: str) -> Article | None:
        return locate(self._cat, self._by_company, title or "", text or "")

    def _candidates(self, art: Article, published: datetime | date | None) -> list[Candidate]:
        pub = published.date() if isinstance(published, datetime) else published
        cat = self._cat
        # Only pledges whose subject (or one of their products) appears can be tied.
        pledges = set(art.subject)
        for (pi, k), by_sentence in art.words.items():
            need = cat.pledges[pi].phrase_need[k]
            if pi not in pledges and any(len(f) >= need for f in by_sentence.values()):
                pledges.add(pi)
        products = {(c, cat.matcher.terms[t]) for c, t in art.product}
        for c, term in products:
            for pi in self._by_company.get(c, ()):
                if term in cat.pledges[pi].products:
                    pledges.add(pi)
        ranked = sorted(pledges)
        if len(ranked) > MAX_CANDIDATES:
            # Bounded work per article: pledges named by their subject phrase come first.
            exact = set(art.subject)
            ranked = sorted(ranked, key=lambda pi: (pi not in exact, pi))[:MAX_CANDIDATES]
        out = []
        for pi in ranked:
            found = candidate(cat, art, pi, pub, self.weights)
            if found is not None:
                out.append(found)
        sibling_closer(cat, out)
        return out


def model_words(model: LinearModel, name: str) -> KindWords | None:
    """The model's vocabulary `name` for reading an article's words, if it has a usable one."""
    if name not in model.meta:
        return None
    try:
        return KindWords.from_dict(model.meta[name], name)
    except ModelError:
        return None


def _closeness(c: Candidate) -> float:
    x = c.features
    return (
        3 * x.get("tie_sentence", 0.0)
        + 2 * x.get("tie_window", 0.0)
        + x.get("tie_article", 0.0)
        + x.get("title_subject", 0.0)
    )


def sibling_closer(cat: Compiled, found: list[Candidate]) -> None:
    """Mark candidates whose company has another pledge tied more closely here.

    An article about one of a company's pledges often shares words with its others; the
    one it names most closely is the story, the rest share only the company.
    """
    best: dict[int, float] = {}
    for c in found:
        company = cat.pledges[c.pledge].company
        best[company] = max(best.get(company, 0.0), _closeness(c))
    for c in found:
        if _closeness(c) < best[cat.pledges[c.pledge].company]:
            c.features["sibling_closer"] = 1.0


__all__ = [
    "HAND_VERSION",
    "MAX_TEXT",
    "Candidate",
    "Detector",
    "Evidence",
    "Finding",
    "Span",
    "model_words",
    "short_names",
]
