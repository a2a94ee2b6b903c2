"""How an article's own words read, rollback or breach: a vocabulary learned from reports (pure).

The kind model weighs cues the lexicon names (breach, weaken, missed...). Reports also
tell their kind in words no lexicon lists ("scraps", "quietly drops", "pushes back"
against "fined", "sued", "found"). Here the words and word pairs of an article's headline
and opening each get a weight, fitted on the articles the labelled corpora (and the review
log) record as reports of a rollback or of a breach; their sum is the article's reading,
one more feature of the kind model (`FEATURE`). Only terms seen in several articles of
several corpora are kept, so no single corpus's names or topics carry over.

The fit is L2-penalised logistic regression by cyclic coordinate descent in pure Python:
deterministic, and a few seconds for a few thousand articles.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pledges.model import ModelError, is_number, sigmoid
from pledges.models import PledgeIn

FEATURE = "words_kind"
# The same kind of model, fitted to tell an article that reports a breach or rollback of
# any pledge from coverage, is a feature of the flag model.
REPORT_FEATURE = "words_report"
# How a model's report vocabulary reads an article, in its file (`report_reading`): without
# the topic of the pledges weighed (`without_topic`). A model without it reads every term.
REPORT_READING = "without-topic"
# Characters of the body read after the headline: a feed summary's worth, which is what
# the corpora hold, so a long article is read the way the weights were learned.
ARTICLE_CHARS = 1_200
# The reading is clipped: one article's words should not outweigh every cue at once.
CLIP = 4.0
L2 = 3.0
# A term is learned only when this many labelled reports hold it, from as many sources.
MIN_ARTICLES = 3
MIN_SOURCES = 3
# A word, or a mark that ends a clause (and with it a negation's reach).
_TOKEN = re.compile(r"[a-z][a-z'-]+|[.;:!?,]")
# Words that negate what follows them in their clause ("found no violation").
NEGATORS = frozenset(
    "not no never without nor neither cannot can't don't doesn't didn't isn't wasn't "
    "aren't weren't hasn't haven't hadn't won't wouldn't couldn't shouldn't".split()
)
# How many words after a negator it reaches, at most.
NEGATION_REACH = 3
NOT = "not_"
# Words that carry no topic and no act: a reading weighs them, but a flag's reasons name
# only terms without them, so what a reason says is what a report says, not its grammar.
FUNCTION_WORDS = NEGATORS | frozenset(
    """a about above across after again against all almost also although am among an and
    another any anyone anything are around as at be because been before being below
    between both but by can could did do does doing done down during each either else
    even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just least less like many may
    me might more most much must my myself now of off often on once one only or
    other others our ours ourselves out over own per quite rather same several shall she
    should since so some such than that the their theirs them themselves then there
    these they this those though through thus to too under until up upon us very via was
    we were what whatever when where whether which while who whom whose why will with
    within would yet you your yours yourself it's that's there's he's she's they're
    we're i'm let's""".split()
)


def _tokens(text: str) -> list[str]:
    """Lower-case words and clause marks of a text (a curly apostrophe read as straight)."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def _words(title: str, text: str) -> list[str]:
    """The words of the headline and the body's opening, a word a negator reaches marked
    `not_` (so "no violation" is not read as "violation")."""
    tokens = _tokens(f"{title or ''}. {(text or '')[:ARTICLE_CHARS]}")
    if NEGATORS.isdisjoint(tokens):
        return [t for t in tokens if len(t) > 1]
    out: list[str] = []
    reach = 0
    for token in tokens:
        if len(token) == 1:
            reach = 0
        elif token in NEGATORS:
            out.append(token)
            reach = NEGATION_REACH
        elif reach:
            out.append(NOT + token)
            reach -= 1
        else:
            out.append(token)
    return out


def article_terms(title: str, text: str) -> frozenset[str]:
    """Lower-case words and adjacent word pairs of the headline and the body's opening."""
    words = _words(title, text)
    return frozenset(words).union(map(" ".join, zip(words, words[1:], strict=False)))


def is_content(term: str) -> bool:
    """Whether every word of a term (a negated one too) is more than a function word."""
    return all(w.removeprefix(NOT) not in FUNCTION_WORDS for w in term.split())


def topic_words(texts: Iterable[str]) -> frozenset[str]:
    """The words of a pledge's own texts (company, title, statement, subject, scope)."""
    return frozenset(t for text in texts for t in _tokens(text) if len(t) > 1)


def pledge_topic(spec: PledgeIn) -> frozenset[str]:
    """`topic_words` of a pledge."""
    company = spec.company
    return topic_words(
        (
            company.name,
            *company.aliases,
            *company.products,
            spec.title,
            spec.statement,
            *spec.subject,
            *spec.scope,
        )
    )


def without_topic(terms: frozenset[str], topic: frozenset[str]) -> frozenset[str]:
    """An article's terms less those made only of the topic's words (negated or not): a
    report reading that must not learn a pledge's own subject as a sign of coverage, nor
    of a report, since every pledge a user adds brings a subject of its own."""
    if not topic:
        return terms
    kept = []
    for t in terms:
        # Most terms are one word; a pair is split only when its first word is topic.
        first, _, rest = t.partition(" ")
        if first.removeprefix(NOT) in topic and (
            not rest or all(w.removeprefix(NOT) in topic for w in rest.split())
        ):
            continue
        kept.append(t)
    return frozenset(kept)


def shown(term: str) -> str:
    """A term as a reason names it: "not allege" for `not_allege`, "no violation" for
    `no not_violation` (the negator already says so)."""
    out: list[str] = []
    for word in term.split():
        if word.startswith(NOT):
            word = word.removeprefix(NOT)
            if not out or out[-1] not in NEGATORS:
                out.append("not")
        out.append(word)
    return " ".join(out)


@dataclass(frozen=True)
class KindWords:
    """Term weights and a bias: positive reads as a rollback, negative as a breach."""

    bias: float = 0.0
    weights: Mapping[str, float] = field(default_factory=dict)
    # The learned terms as a set: an article's terms meet it in one C-level intersection.
    _vocab: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_vocab", frozenset(self.weights))

    def reading(self, terms: Iterable[str]) -> float:
        return self._value(self._vocab.intersection(terms))

    def known(self, terms: Iterable[str]) -> frozenset[str]:
        """The terms that carry a weight here (the rest read as nothing)."""
        return self._vocab.intersection(terms)

    def read_terms(self, terms: Iterable[str]) -> tuple[float, list[str], list[str]]:
        """`reading` of an article's terms and the three that lean most to a rollback and
        to a breach (for reasons), met with the vocabulary once."""
        return self.read_known(self._vocab.intersection(terms))

    def read_known(self, known: frozenset[str]) -> tuple[float, list[str], list[str]]:
        """`read_terms` of terms already met with the vocabulary (from `known`, perhaps
        thinned since): not met with it again."""
        return (self._value(known), *self._lean(known, 3))

    def _value(self, known: frozenset[str]) -> float:
        # fsum is exact, so the set's order (which varies between runs) cannot move the
        # last bit, and a refit stays byte for byte the same.
        raw = self.bias + math.fsum(map(self.weights.__getitem__, known))
        return max(-CLIP, min(CLIP, raw))

    @cached_property
    def _named(self) -> frozenset[str]:
        # Function words weigh in the reading ("will", "has been", "did not" tell a plan
        # from a report) but say nothing in a reason: only content terms are named. Found
        # once per model, so a scan meets them in one C-level intersection.
        return frozenset(t for t in self.weights if is_content(t))

    def _lean(self, known: frozenset[str], n: int) -> tuple[list[str], list[str]]:
        w = self.weights
        # By weight, ties by term: two sorts in C, no tuple per term.
        ranked = sorted(sorted(known & self._named), key=w.__getitem__)
        return [t for t in reversed(ranked[-n:]) if w[t] > 0], [t for t in ranked[:n] if w[t] < 0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": round(self.bias, 6),
            "weights": {t: round(v, 4) for t, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_dict(cls, data: object, name: str = "kind_words") -> KindWords:
        """From a model file's `kind_words` (or the field `name`); a ModelError says what
        is wrong."""
        if not isinstance(data, dict):
            raise ModelError(f"field '{name}': must be an object")
        weights = data.get("weights")
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and is_number(v) for k, v in weights.items()
        ):
            raise ModelError(f"field '{name}.weights': must map terms to numbers")
        if not is_number(data.get("bias")):
            raise ModelError(f"field '{name}.bias': missing or not a number")
        return cls(float(data["bias"]), {k: float(v) for k, v in weights.items()})


def fit_kind_words(
    articles: Sequence[frozenset[str]],
    rollback: Sequence[bool],
    sources: Sequence[str],
    l2: float = L2,
    sweeps: int = 60,
) -> KindWords:
    """Fit on labelled reports: each article's terms, whether it reports a rollback (else
    a breach), and where it comes from (a corpus, or the review log). Terms with function
    words are learned too: with them left out of the report reading, leave-one-pledge-out
    F1 over 66 corpora was 0.763 against 0.768 (`docs/detection-history.md`)."""
    n = len(articles)
    if n == 0:
        return KindWords()
    seen: dict[str, set[int]] = defaultdict(set)
    where: dict[str, set[str]] = defaultdict(set)
    for i, (terms, source) in enumerate(zip(articles, sources, strict=True)):
        for t in terms:
            seen[t].add(i)
            where[t].add(source)
    vocab = sorted(
        t for t, ids in seen.items() if len(ids) >= MIN_ARTICLES and len(where[t]) >= MIN_SOURCES
    )
    columns = [sorted(seen[t]) for t in vocab]
    y = [1.0 if r else 0.0 for r in rollback]
    positives = sum(y)
    # Start from the base rate, so a vocabulary-free fit is the prior alone.
    bias = math.log((positives + 0.5) / (n - positives + 0.5))
    w = [0.0] * len(vocab)
    z = [bias] * n
    p = [sigmoid(v) for v in z]
    for _ in range(sweeps):
        g = sum(pi - yi for pi, yi in zip(p, y, strict=True))
        h = sum(pi * (1.0 - pi) for pi in p) + 1e-6
        step = -g / h
        bias += step
        largest = abs(step)
        for i in range(n):
            z[i] += step
            p[i] = sigmoid(z[i])
        for j, col in enumerate(columns):
            g = l2 * w[j]
            h = l2
            for i in col:
                g += p[i] - y[i]
                h += p[i] * (1.0 - p[i])
            step = -g / h
            if step:
                w[j] += step
                for i in col:
                    z[i] += step
                    p[i] = sigmoid(z[i])
                largest = max(largest, abs(step))
        if largest < 1e-5:
            break
    # Terms that weigh next to nothing would only make the model file longer.
    return KindWords(bias, {t: v for t, v in zip(vocab, w, strict=True) if abs(v) >= 1e-3})


__all__ = [
    "FEATURE",
    "REPORT_FEATURE",
    "REPORT_READING",
    "KindWords",
    "article_terms",
    "fit_kind_words",
    "is_content",
    "pledge_topic",
    "shown",
    "topic_words",
    "without_topic",
]
