"""Fitting the detector's model on labelled data and validating it on unseen pledges.

Every labelled corpus (and every reviewed flag) becomes rows: one per (article, pledge)
candidate the detector finds, with its features and whether a good monitor flags it.
`cross_validate` scores each pledge with a model fitted without any row of that pledge
(leave-one-pledge-out), which is what a user meets when adding pledges of their own.
Features do not depend on the weights, so candidates are computed once and every fold
only refits the small logistic model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from feeds.models import Article
from monitor.evaluation.corpus import (
    CorpusError,
    Counts,
    check_labels,
    corpus_feeds,
    load_labels,
)
from monitor.evaluation.folds import fold_map
from monitor.store.models import DetectorModel, Flag
from pledges.catalogue import load_catalogue
from pledges.detect import HAND_VERSION, Detector, model_words
from pledges.kindwords import FEATURE as WORDS_FEATURE
from pledges.kindwords import (
    REPORT_FEATURE,
    REPORT_READING,
    KindWords,
    article_terms,
    fit_kind_words,
    without_topic,
)
from pledges.lexicon import DEFAULT_WEIGHTS
from pledges.model import LinearModel, fit_logistic, kind_from, sigmoid
from pledges.score import FEATURES, KIND_FEATURES, hand_model
from pledges.semantic import READING_META
from pledges.textmatch import fold
from pledges.vocabulary import text_names

L2 = 10.0
# The kind model starts from the hand rule (KIND_PRIOR) and has under two hundred
# positives to learn from: held close to it, it generalises better to unseen pledges
# (leave-one-pledge-out kind accuracy is flat for penalties from 3 to 16, lower below).
KIND_L2 = 4.0
# The hand rule for the kind (rollback when rollback language outweighs breach language,
# always after the pledge's deadline; a missed deadline is a rollback, falling short a
# breach) as a linear prior for the fitted kind model.
KIND_PRIOR = {
    "breach": -2.0,
    "shortfall": -2.0,
    "enforcement": -1.0,
    "rising": -2.0,
    "persisting": -2.0,
    "resumed": 2.0,
    # The company itself weakening or resuming is a rollback; resumption only others tell
    # of leans to a breach. Both chosen by nested leave-one-pledge-out validation.
    "own_act": 2.0,
    "resumed_by_others": -2.0,
    # Rollback words whose subject is another company of the catalogue ("Mozilla pulls
    # Avast's add-ons") tell of a step taken against the company: a breach.
    "other_act": -2.0,
    "weaken_with_commitment": 3.0,
    "weaken_alone": 1.0,
    # Staff cut or a site closed that the pledge promised: the promise taken back.
    "promise_cut": 2.0,
    "after_deadline": 4.0,
    "missed": 2.0,
    "unkept": 2.0,
    "still": -2.0,
    "denial": -2.0,
}


@dataclass(frozen=True)
class Row:
    """One candidate (article, pledge) with its features and its label."""

    source: str  # corpus name, or "reviews"
    link: str
    pledge_id: str
    features: dict[str, float]
    kind_features: dict[str, float]
    rule_kind: str
    label: int  # 1: a good monitor flags it
    expected_kind: str = ""  # breach | rollback for positives


@dataclass
class LabelledSet:
    """Candidate rows plus the positives no candidate covers (misses whatever the weights)."""

    rows: list[Row] = field(default_factory=list)
    # (source, link, pledge) that should be flagged, with their kind.
    expected: dict[tuple[str, str, str], str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    # (source, link) -> the article's terms, for the kind model's reading of its words.
    articles: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # (source, link) -> the words of the pledges the article ties (`pledge_topic`), which
    # the report reading leaves out; every pledge of its corpus when it ties none.
    topics: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def extend(self, other: LabelledSet) -> None:
        self.rows += other.rows
        self.expected.update(other.expected)
        self.sources += other.sources
        self.articles.update(other.articles)
        self.topics.update(other.topics)

    def report_terms(self, key: tuple[str, str]) -> frozenset[str]:
        """The article's terms as the report reading sees them: without its topic."""
        return without_topic(self.articles.get(key, frozenset()), self.topics.get(key, frozenset()))


@dataclass
class Figures:
    """Precision, recall, F1 and kind accuracy of a set of predictions."""

    counts: Counts = field(default_factory=Counts)
    kind_agree: int = 0
    kind_total: int = 0
    per_source: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))

    @property
    def kind_accuracy(self) -> float:
        return self.kind_agree / self.kind_total if self.kind_total else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts.as_dict(),
            "kind_accuracy": round(self.kind_accuracy, 4),
            "per_source": {k: v.as_dict() for k, v in sorted(self.per_source.items())},
        }

    def summary(self) -> str:
        c = self.counts
        return (
            f"precision {c.precision:.3f}  recall {c.recall:.3f}  F1 {c.f1:.3f}  "
            f"(tp {c.tp}, fp {c.fp}, fn {c.fn}); kind accuracy {self.kind_accuracy:.3f}"
        )


def corpus_rows(corpus: Path) -> LabelledSet:
    """Rows of one labelled corpus (format in ../shared/eval/FORMAT.md)."""
    if not corpus.is_dir():
        raise CorpusError(f"{corpus}: no such folder")
    labels = load_labels(corpus / "labels.json")
    pledges = load_catalogue(corpus / "catalogue")
    feeds = corpus_feeds(corpus)
    check_labels(corpus, labels, pledges, feeds)
    detector = Detector.compile(pledges)
    name = corpus.resolve().name
    out = LabelledSet(sources=[name])
    every = detector.topic(range(detector.size))
    for item in labels:
        for exp in item.get("expected", []):
            out.expected[(name, item["link"], exp["pledge"])] = exp.get("kind", "")
    for feed in feeds.values():
        for e in feed.entries:
            link = e.link or ""
            out.articles[(name, link)] = article_terms(e.title, e.text)
            found = detector.candidates(e.title, e.text, e.published)
            out.topics[(name, link)] = detector.topic(c.pledge for c in found) if found else every
            for c in found:
                pid = detector.pledge_id(c.pledge)
                kind = out.expected.get((name, link, pid))
                out.rows.append(
                    Row(
                        name,
                        link,
                        pid,
                        c.features,
                        c.kind_features,
                        c.kind,
                        int(kind is not None),
                        kind or "",
                    )
                )
    return out


def load_corpora(corpora: Iterable[Path]) -> LabelledSet:
    out = LabelledSet()
    for corpus in corpora:
        out.extend(corpus_rows(corpus))
    return out


# A reviewed flag with its article: (link, title, text, published, pledge, confirmed, kind).
ReviewedFlag = tuple[str, str, str, datetime | date | None, str, bool, str]


def review_rows(detector: Detector, reviewed: Iterable[ReviewedFlag]) -> LabelledSet:
    """Rows from reviewed flags: (link, title, text, published, pledge, confirmed, kind)."""
    out = LabelledSet(sources=["reviews"])
    for link, title, text, published, pledge_id, confirmed, kind in reviewed:
        if confirmed:
            out.expected[("reviews", link, pledge_id)] = kind
        out.articles[("reviews", link)] = article_terms(title, text)
        found = detector.candidates(title, text, published)
        out.topics[("reviews", link)] = detector.topic(c.pledge for c in found)
        for c in found:
            if detector.pledge_id(c.pledge) != pledge_id:
                continue
            out.rows.append(
                Row(
                    "reviews",
                    link,
                    pledge_id,
                    c.features,
                    c.kind_features,
                    c.kind,
                    int(confirmed),
                    kind if confirmed else "",
                )
            )
    return out


HAND = hand_model(DEFAULT_WEIGHTS, HAND_VERSION)
# The fitted flag model starts from the hand weights, except that a tie without any
# breach or rollback word, or with only a promised thing cut (which the hand weights
# never flag), starts from nothing.
FLAG_PRIOR = {k: v for k, v in HAND.weights.items() if k not in ("no_signal", "cut_only")}
# A word or name in reports of this many corpora (fields) tells no company apart.
NAMES_MIN_CORPORA = 3


def common_names_fit(corpora: Iterable[Path], min_corpora: int = NAMES_MIN_CORPORA) -> list[str]:
    """Words, and names (with the shorter names inside them), that the reports of at
    least `min_corpora` corpora use, and everyday words (written in lower case in the
    reports of two corpora): too common to stand in for one pledge's company."""
    seen: dict[str, set[str]] = defaultdict(set)
    lower: dict[str, set[str]] = defaultdict(set)
    for corpus in corpora:
        name = corpus.resolve().name
        for feed in corpus_feeds(corpus).values():
            for e in feed.entries:
                terms = set(fold(f"{e.title} {e.text}")[0].split())
                for found in (*text_names(e.title), *text_names(e.text)):
                    words = found.split()
                    terms.update(
                        " ".join(words[i:j])
                        for i in range(len(words))
                        for j in range(i + 2, min(len(words), i + 4) + 1)
                    )
                for t in terms:
                    seen[t].add(name)
                for w in _LOWER_CASE.findall(f"{e.title} {e.text}"):
                    lower[w].add(name)
    common = {t for t, where in seen.items() if len(where) >= min_corpora}
    return sorted(common | {w for w, where in lower.items() if len(where) >= 2})


_LOWER_CASE = re.compile(r"\b[a-z]{3,}\b")


def kind_words_fit(data: LabelledSet, exclude: str | None = None) -> KindWords:
    """The reading of an article's words fitted on every labelled report of the set (but
    those of `exclude`); an article flagged for several pledges counts once, by the kind
    most of its flags have."""
    kinds: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (source, link, _), kind in data.expected.items():
        if kind in ("breach", "rollback") and source != exclude:
            kinds[(source, link)].append(kind)
    keys = sorted(k for k in kinds if k in data.articles)
    return fit_kind_words(
        [data.articles[k] for k in keys],
        [2 * kinds[k].count("rollback") > len(kinds[k]) for k in keys],
        [k[0] for k in keys],
    )


def report_words_fit(data: LabelledSet, exclude: str | None = None) -> KindWords:
    """The reading of whether an article reports a breach or rollback of any pledge at
    all, fitted on every labelled article of the set (but those of `exclude`): a report
    when the labels (or a confirmed flag) expect a flag on it, coverage otherwise."""
    reports = {(source, link) for source, link, _ in data.expected}
    keys = sorted(k for k in data.articles if k[0] != exclude)
    return fit_kind_words(
        [data.report_terms(k) for k in keys],
        [k in reports for k in keys],
        [k[0] for k in keys],
    )


def with_word_readings(data: LabelledSet, jobs: int | None = None) -> LabelledSet:
    """The set with each row's article read by words models fitted without the row's
    source, for the kind (`words_kind`) and for being a report at all (`words_report`):
    stacking, so the models learn how far to trust a reading made on articles the words
    models have not seen, as they will be when the detector scans. One fold per source,
    on up to `jobs` processes (`folds.workers`)."""
    kind: dict[tuple[str, str], float] = {}
    report: dict[tuple[str, str], float] = {}
    for k, r in fold_map(_source_readings, data, sorted({r.source for r in data.rows}), jobs):
        kind.update(k)
        report.update(r)
    return _with_readings(data, kind, report)


def with_model_readings(model: LinearModel, data: LabelledSet) -> LabelledSet:
    """The set with each row's article read by `model`'s own words models, as the detector
    reads it with that model: `apply(model, ...)` on it is in-sample when the model was
    fitted on these corpora (on `with_word_readings` rows it would not be: those readings
    are made without each row's corpus)."""
    kind_words = model_words(model, "kind_words")
    report_words = model_words(model, "report_words")
    without = model.meta.get("report_reading") == REPORT_READING
    keys = {(r.source, r.link) for r in data.rows}
    kind = report = None
    if kind_words is not None:
        kind = {k: kind_words.reading(data.articles.get(k, frozenset())) for k in keys}
    if report_words is not None:
        report = {
            k: report_words.reading(
                data.report_terms(k) if without else data.articles.get(k, frozenset())
            )
            for k in keys
        }
    return _with_readings(data, kind, report)


def _with_readings(
    data: LabelledSet,
    kind: dict[tuple[str, str], float] | None,
    report: dict[tuple[str, str], float] | None,
) -> LabelledSet:
    """The set with each row's words readings (by article) set where given."""
    rows = [
        replace(
            r,
            features=r.features
            if report is None
            else {**r.features, REPORT_FEATURE: report[(r.source, r.link)]},
            kind_features=r.kind_features
            if kind is None
            else {**r.kind_features, WORDS_FEATURE: kind[(r.source, r.link)]},
        )
        for r in data.rows
    ]
    return LabelledSet(
        rows, dict(data.expected), list(data.sources), dict(data.articles), dict(data.topics)
    )


def _source_readings(
    data: LabelledSet, source: str
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """The kind and report readings of one source's articles, by words models fitted
    without that source (one fold of `with_word_readings`)."""
    kind_words = kind_words_fit(data, exclude=source)
    report_words = report_words_fit(data, exclude=source)
    kind: dict[tuple[str, str], float] = {}
    report: dict[tuple[str, str], float] = {}
    for r in data.rows:
        if r.source == source and (source, r.link) not in kind:
            terms = data.articles.get((source, r.link), frozenset())
            kind[(source, r.link)] = kind_words.reading(terms)
            report[(source, r.link)] = report_words.reading(data.report_terms((source, r.link)))
    return kind, report


def fit_model(
    rows: Sequence[Row],
    version: str,
    meta: dict[str, Any] | None = None,
    l2: float = L2,
    kind_words: KindWords | None = None,
    report_words: KindWords | None = None,
    threshold: float = 0.5,
    features: Sequence[str] = FEATURES,
) -> LinearModel:
    """A flag model (from the hand weights) over `features` flagging from `threshold`
    (`best_cut`), and a kind model (rollback against breach), with the vocabularies that
    read an article's words for them: `report_words` (a report at all) and `kind_words`
    (rollback or breach)."""
    weights, bias = fit_logistic(
        [r.features for r in rows],
        [r.label for r in rows],
        features=features,
        l2=l2,
        prior=FLAG_PRIOR,
        prior_bias=HAND.bias,
    )
    positives = [r for r in rows if r.label and r.expected_kind in ("breach", "rollback")]
    kind_weights, kind_bias = fit_logistic(
        [r.kind_features for r in positives],
        [int(r.expected_kind == "rollback") for r in positives],
        features=KIND_FEATURES,
        l2=KIND_L2,
        prior=KIND_PRIOR,
        prior_bias=-0.5,
    )
    info: dict[str, Any] = dict(meta or {})
    info["kind"] = {"bias": kind_bias, "weights": kind_weights}
    if kind_words is not None:
        info["kind_words"] = kind_words.to_dict()
    if report_words is not None:
        info["report_words"] = report_words.to_dict()
        info["report_reading"] = REPORT_READING
    info["rows"] = len(rows)
    info["positives"] = len(positives)
    return LinearModel(version, weights, bias, threshold, info)


def predict(model: LinearModel, row: Row) -> str | None:
    """The kind the model flags the row as, or None when it is not flagged."""
    if model.score(row.features) < model.threshold:
        return None
    return row_kind(model, row)


def row_kind(model: LinearModel, row: Row) -> str:
    """The kind the row would be flagged as: by the model's kind model, else the rule."""
    kind = model.meta.get("kind")
    if isinstance(kind, dict) and row.kind_features:
        return kind_from(kind, row.kind_features)
    return row.rule_kind


def figures(data: LabelledSet, flagged: dict[tuple[str, str, str], str]) -> Figures:
    """Score flags (source, link, pledge) -> kind against the set's expectations."""
    out = Figures()
    for key, kind in flagged.items():
        per = out.per_source[key[0]]
        if key in data.expected:
            out.counts.tp += 1
            per.tp += 1
            out.kind_total += 1
            out.kind_agree += kind == data.expected[key]
        else:
            out.counts.fp += 1
            per.fp += 1
    for key in data.expected:
        if key not in flagged:
            out.counts.fn += 1
            out.per_source[key[0]].fn += 1
    return out


def apply(model: LinearModel, data: LabelledSet) -> Figures:
    """Figures of one fixed model over every row (in-sample when it was fitted on them)."""
    flagged: dict[tuple[str, str, str], str] = {}
    for r in data.rows:
        kind = predict(model, r)
        if kind is not None:
            flagged[(r.source, r.link, r.pledge_id)] = kind
    return figures(data, flagged)


def cross_validate(
    data: LabelledSet,
    train: Callable[[Row], bool] | None = None,
    l2: float = L2,
    jobs: int | None = None,
) -> Figures:
    """Leave-one-pledge-out: each pledge's rows scored by a model fitted without them,
    and flagged from the cut learned without them (`cut_flags`).

    `train` limits which rows any fold may learn from (all by default); every row is
    scored either way, so two training recipes are compared on the same test rows.
    """
    return figures(data, lopo_flags(data, train, l2, jobs))


@dataclass(frozen=True)
class Scored:
    """A row scored by a model fitted without the row's pledge."""

    key: tuple[str, str, str]  # (source, link, pledge)
    raw: float  # log-odds of a flag
    kind: str  # the kind it would be flagged as, whatever the cut


def lopo_scores(
    data: LabelledSet,
    train: Callable[[Row], bool] | None = None,
    l2: float = L2,
    jobs: int | None = None,
    features: Sequence[str] = FEATURES,
) -> list[Scored]:
    """Every row's log-odds (and kind) by a model over `features` fitted without the
    row's pledge; one fold per pledge, on up to `jobs` processes (`folds.workers`)."""
    pids = sorted({r.pledge_id for r in data.rows})
    folds = fold_map(_pledge_scores, (data, train, l2, tuple(features)), pids, jobs)
    return [s for fold in folds for s in fold]


def _pledge_scores(
    shared: tuple[LabelledSet, Callable[[Row], bool] | None, float, tuple[str, ...]], pid: str
) -> list[Scored]:
    """One fold of `lopo_scores`: the pledge's rows by a model fitted without them."""
    data, train, l2, features = shared
    fold = [r for r in data.rows if r.pledge_id != pid and (train is None or train(r))]
    model = fit_model(fold, "cv", l2=l2, features=features)
    return [
        Scored((r.source, r.link, r.pledge_id), model.raw(r.features), row_kind(model, r))
        for r in data.rows
        if r.pledge_id == pid
    ]


def flags_at(scored: Iterable[Scored], min_score: float = 0.5) -> dict[tuple[str, str, str], str]:
    """The flags (source, link, pledge) -> kind of scored rows from `min_score` on (the
    comparison `predict` makes with a model's threshold)."""
    return {s.key: s.kind for s in scored if sigmoid(s.raw) >= min_score}


def lopo_flags(
    data: LabelledSet,
    train: Callable[[Row], bool] | None = None,
    l2: float = L2,
    jobs: int | None = None,
    features: Sequence[str] = FEATURES,
) -> dict[tuple[str, str, str], str]:
    """The flags (source, link, pledge) -> kind of leave-one-pledge-out scoring, each
    pledge's from the cut learned without it (`cut_flags`)."""
    return cut_flags(data, lopo_scores(data, train, l2, jobs, features))


# Scores flags may start from, learned with the weights. The flag model is fitted for
# likelihood, so 0.5 is where accuracy on candidates is best, not F1: about one expected
# flag in eight has no candidate at all, which makes a missed report dearer than a
# wrong flag. Kept between 0.3 and 0.6, where the cut only trades one for the other.
CUTS = tuple(round(0.3 + 0.025 * i, 3) for i in range(13))


def _cut_counts(
    data: LabelledSet, scored: Iterable[Scored], cuts: Sequence[float]
) -> dict[str, list[tuple[int, int]]]:
    """Per pledge, the (true, false) flags its rows would make from each cut."""
    out: dict[str, list[tuple[int, int]]] = defaultdict(lambda: [(0, 0)] * len(cuts))
    for s in scored:
        p = sigmoid(s.raw)
        hit = s.key in data.expected
        counts = out[s.key[2]]
        for i, c in enumerate(cuts):
            if p >= c:
                tp, fp = counts[i]
                counts[i] = (tp + hit, fp + (not hit))
    return out


def _totals(per: dict[str, list[tuple[int, int]]], n: int) -> list[tuple[int, int]]:
    """(true, false) flags from each of `n` cuts over every pledge."""
    counts = list(per.values())
    return [(sum(c[i][0] for c in counts), sum(c[i][1] for c in counts)) for i in range(n)]


# Left-out F1 differences smaller than this are noise: over 75 corpora F1 moved within
# 0.004 for every cut from 0.3 to 0.475 (a handful of flags in 3,090), so the best of them
# was chance. Among cuts this close to the best, the one nearest 0.5 is chosen: the same
# F1 with fewer wrong flags to review.
CUT_TOLERANCE = 0.005


def _best(totals: Sequence[tuple[int, int]], expected: int, cuts: Sequence[float]) -> float:
    """The cut nearest 0.5, the likelihood's own, among those whose F1 (from (true, false)
    flag counts per cut) is within `CUT_TOLERANCE` of the best; ties go to the higher."""

    def f1(i: int) -> float:
        tp, fp = totals[i]
        return Counts(tp, fp, expected - tp).f1 if tp else 0.0

    scores = [f1(i) for i in range(len(cuts))]
    top = max(scores)
    near = [i for i, f in enumerate(scores) if f >= top - CUT_TOLERANCE - 1e-12]
    return cuts[min(near, key=lambda i: (abs(cuts[i] - 0.5), -cuts[i]))]


def best_cut(data: LabelledSet, scored: Sequence[Scored], cuts: Sequence[float] = CUTS) -> float:
    """The score flags start from that gives the best F1 over leave-one-pledge-out scores:
    the threshold a fitted model flags from."""
    per = _cut_counts(data, scored, cuts)
    return _best(_totals(per, len(cuts)), len(data.expected), cuts)


def cut_flags(
    data: LabelledSet, scored: Sequence[Scored], cuts: Sequence[float] = CUTS
) -> dict[tuple[str, str, str], str]:
    """Leave-one-pledge-out flags with the cut left out too: each pledge's rows flagged
    from the cut `best_cut` chooses on every other pledge's scores, so the figures of a
    model that learns its cut are as blind as those of its weights."""
    per = _cut_counts(data, scored, cuts)
    totals = _totals(per, len(cuts))
    expected_by: Counter[str] = Counter(k[2] for k in data.expected)
    cut: dict[str, float] = {}
    for pid, counts in per.items():
        others = [(t[0] - c[0], t[1] - c[1]) for t, c in zip(totals, counts, strict=True)]
        cut[pid] = _best(others, len(data.expected) - expected_by[pid], cuts)
    return {s.key: s.kind for s in scored if sigmoid(s.raw) >= cut[s.key[2]]}


# Scores a user may flag from (`[detect] min_score`), for the trade `eval --cv` shows.
MIN_SCORES = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)


def by_min_score(
    data: LabelledSet, scored: Sequence[Scored], scores: Sequence[float] = MIN_SCORES
) -> dict[float, Figures]:
    """Leave-one-pledge-out figures were flags to start from each score: the model is
    fitted for likelihood, so 0.5 is not where F1 or precision is best, and users weigh a
    missed report against a wrong flag differently."""
    return {m: figures(data, flags_at(scored, m)) for m in scores}


def dropped(before: Figures, after: Figures) -> bool:
    """Whether `after` is worse than `before`: lower F1 or lower kind accuracy."""
    return (
        after.counts.f1 < before.counts.f1 - 1e-9
        or after.kind_accuracy < before.kind_accuracy - 1e-9
    )


__all__ = [
    "Figures",
    "LabelledSet",
    "ReviewedFlag",
    "Row",
    "Scored",
    "apply",
    "by_min_score",
    "corpus_rows",
    "cross_validate",
    "flags_at",
    "best_cut",
    "cut_flags",
    "CUTS",
    "fit_model",
    "kind_words_fit",
    "report_words_fit",
    "load_corpora",
    "lopo_flags",
    "lopo_scores",
    "review_rows",
    "with_word_readings",
]


def reviewed_flags(session: Session) -> list[ReviewedFlag]:
    """Flags an analyst confirmed or dismissed, with their article, for `review_rows`."""
    rows = session.exec(
        select(Flag, Article)
        .join(Article, col(Article.id) == Flag.article_id)
        .where(col(Flag.status).in_(("confirmed", "dismissed")))
        .order_by(col(Flag.id))
    ).all()
    return [
        (
            a.url or f"article:{a.id}",
            a.title,
            a.text,
            a.published_at,
            f.pledge_id,
            f.status == "confirmed",
            f.kind,
        )
        for f, a in rows
    ]


def store_model(session: Session, model: LinearModel, now: datetime | None = None) -> DetectorModel:
    """Make `model` the one this database scores with (earlier ones are kept, inactive)."""
    for old in session.exec(select(DetectorModel).where(col(DetectorModel.active).is_(True))):
        old.active = False
        session.add(old)
    row = DetectorModel(
        version=model.version, model=model.to_json(), created_at=now or datetime.now(UTC)
    )
    session.add(row)
    return row


def model_version(model: LinearModel) -> str:
    """A version naming the weights: the same fit always gets the same name."""
    body = json.dumps(
        [
            sorted(model.weights.items()),
            model.bias,
            model.meta.get("kind"),
            *([model.meta["kind_words"]] if "kind_words" in model.meta else []),
            *([model.meta["report_words"]] if "report_words" in model.meta else []),
            # Only a model whose report reading leaves out the topic names how it reads.
            *([model.meta["report_reading"]] if "report_reading" in model.meta else []),
            # A database's refit with the semantic layer on carries the layer's reading.
            *([model.meta[READING_META]] if READING_META in model.meta else []),
        ]
    )
    return "fitted-" + hashlib.sha256(body.encode()).hexdigest()[:8]
