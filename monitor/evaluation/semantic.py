"""Fitting the semantic layer on labelled corpora and validating it on unseen corpora.

Every corpus item is embedded once; the "breach or rollback report" classifier learns
from all items, the rollback-or-breach one from the reports. Penalties are chosen by
leave-one-corpus-out log-loss. The lexical flag model is refitted with the report
classifier's reading of each article as one more feature, read by a classifier fitted
without the article's corpus (stacking, as the words readings are). `cross_validate_semantic`
scores each corpus with classifiers fitted without it and each pledge with flag models
fitted without it, and reports the lexical detector alone, with the layer's reading, and
with the layer's own flags too, so the layer's worth is measured on what it never saw.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date
from pathlib import Path
from typing import Any

from monitor.evaluation.corpus import (
    CorpusError,
    check_labels,
    corpus_feeds,
    load_labels,
)
from monitor.evaluation.learning import (
    KIND_L2,
    KIND_PRIOR,
    Figures,
    LabelledSet,
    best_cut,
    cut_flags,
    figures,
    fit_model,
    lopo_flags,
    lopo_scores,
)
from pledges.catalogue import load_catalogue
from pledges.encoder import Encoder
from pledges.model import fit_logistic
from pledges.models import PledgeIn
from pledges.score import FEATURES, KIND_FEATURES
from pledges.semantic import (
    DIM,
    KIND_FEATURE,
    REPORT_FEATURE,
    Semantic,
    SemanticIndex,
    SemanticModel,
    article_text,
    fit_ridge_logistic,
    pledge_text,
    report_feature,
)

PENALTIES = (0.1, 0.3, 1.0, 3.0, 10.0)
# The flag model's features when the layer reads the article too.
READING_FEATURES = (*FEATURES, REPORT_FEATURE)


@dataclass(frozen=True)
class Item:
    source: str
    link: str
    title: str
    text: str
    published: date | None
    report: bool  # labelled breach or rollback
    rollback: bool  # a report whose flags include a rollback


@dataclass
class Embedded:
    """Corpus items and pledges with their vectors (numpy arrays)."""

    items: list[Item] = field(default_factory=list)
    pledges: dict[str, list[PledgeIn]] = field(default_factory=dict)
    item_vectors: Any = None
    pledge_vectors: dict[str, Any] = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        return sorted(self.pledges)


def corpus_items(corpus: Path) -> tuple[list[Item], list[PledgeIn]]:
    """Items (one per link) and pledges of one labelled corpus."""
    if not corpus.is_dir():
        raise CorpusError(f"{corpus}: no such folder")
    name = corpus.resolve().name
    labelled = load_labels(corpus / "labels.json")
    pledges = load_catalogue(corpus / "catalogue")
    feeds = corpus_feeds(corpus)
    check_labels(corpus, labelled, pledges, feeds)
    labels = {item["link"]: item for item in labelled}
    items: list[Item] = []
    seen: set[str] = set()
    for feed in feeds.values():
        for e in feed.entries:
            link = e.link or ""
            if link in seen:
                continue
            seen.add(link)
            label = labels.get(link, {})
            kinds = [x.get("kind", "") for x in label.get("expected", [])]
            published = e.published.astimezone(UTC).date() if e.published else None
            items.append(
                Item(
                    name,
                    link,
                    e.title,
                    e.text,
                    published,
                    label.get("class") in ("breach", "rollback"),
                    "rollback" in kinds,
                )
            )
    return items, pledges


def embed_corpora(encoder: Encoder, corpora: Iterable[Path]) -> Embedded:
    out = Embedded()
    for corpus in corpora:
        items, pledges = corpus_items(corpus)
        out.items += items
        out.pledges[corpus.resolve().name] = pledges
    out.item_vectors = encoder.encode([article_text(i.title, i.text) for i in out.items])
    for source, pledges in out.pledges.items():
        out.pledge_vectors[source] = encoder.encode(
            [pledge_text(p.title, p.statement) for p in pledges]
        )
    return out


def _log_loss(z: Any, y: Any) -> float:
    import numpy as np

    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _logits(beta: Sequence[float], x: Any) -> Any:
    import numpy as np

    b = np.asarray(beta)
    return x @ b[:-1] + b[-1]


def choose_penalty(x: Any, y: Any, groups: Any) -> float:
    """The penalty with the lowest leave-one-group-out log-loss."""
    import numpy as np

    best: tuple[float, float] | None = None
    for l2 in PENALTIES:
        zs, ys = [], []
        for g in sorted(set(groups.tolist())):
            train, test = groups != g, groups == g
            if not test.any() or len(set(y[train].tolist())) < 2:
                continue
            zs.append(_logits(fit_ridge_logistic(x[train], y[train], l2), x[test]))
            ys.append(y[test])
        if not zs:
            return 1.0
        loss = _log_loss(np.concatenate(zs), np.concatenate(ys))
        if best is None or loss < best[0]:
            best = (loss, l2)
    return best[1] if best else 1.0


def kind_logits_left_out(data: Embedded, penalty: float) -> dict[tuple[str, str], float]:
    """Each item's rollback-or-breach logit from a classifier fitted without its corpus."""
    import numpy as np

    reports = np.array([i.report for i in data.items])
    rollback = np.array([float(i.rollback) for i in data.items])
    return _logits_left_out(data, rollback, reports, penalty)


def report_logits_left_out(data: Embedded, penalty: float) -> dict[tuple[str, str], float]:
    """Each item's report logit from a classifier fitted without its corpus."""
    import numpy as np

    report = np.array([float(i.report) for i in data.items])
    return _logits_left_out(data, report, np.ones(len(data.items), bool), penalty)


def _logits_left_out(
    data: Embedded, target: Any, among: Any, penalty: float
) -> dict[tuple[str, str], float]:
    """Each item's logit from a classifier of `target`, fitted on the items `among` of
    every other corpus."""
    import numpy as np

    x = data.item_vectors
    groups = np.array([i.source for i in data.items])
    out: dict[tuple[str, str], float] = {}
    for source in data.sources:
        train = among & (groups != source)
        z = _logits(fit_ridge_logistic(x[train], target[train], penalty), x[groups == source])
        items = [i for i in data.items if i.source == source]
        out.update({(i.source, i.link): float(v) for i, v in zip(items, z, strict=True)})
    return out


def with_reading(rows: LabelledSet, logits: dict[tuple[str, str], float]) -> LabelledSet:
    """The rows with the article's report logit (clipped, as the detector clips it) as
    the flag feature `REPORT_FEATURE`; 0 for an article without one."""
    out = [
        replace(
            r,
            features={
                **r.features,
                REPORT_FEATURE: report_feature(logits.get((r.source, r.link), 0.0)),
            },
        )
        for r in rows.rows
    ]
    return LabelledSet(
        out, dict(rows.expected), list(rows.sources), dict(rows.articles), dict(rows.topics)
    )


def fit_lexical_flag(reading: LabelledSet, base: str, cut: float) -> dict[str, Any]:
    """The flag model refitted on `with_reading` rows, flagging from `cut`, for the flag
    model `base` (whose words readings the rows carry)."""
    return {"base": base, **_reading_flag(reading, cut)}


def _reading_flag(reading: LabelledSet, cut: float) -> dict[str, Any]:
    model = fit_model(reading.rows, "reading", features=READING_FEATURES, threshold=cut)
    return {"bias": model.bias, "threshold": cut, "weights": dict(sorted(model.weights.items()))}


def refit_reading(
    rows: LabelledSet,
    data: Embedded,
    reviewed: dict[str, str],
    layer: Semantic,
) -> dict[str, Any] | None:
    """The reading a flag model fitted on `rows` carries (`READING_META`): the flag model
    refitted on the same rows with the layer's reading of each article, for a database's
    refit (`detector fit` with the layer on), which the shipped reading does not serve.
    Corpus articles (`data`) are read by report classifiers fitted without their corpus,
    reviewed ones (`reviewed`: link -> text to embed) by the layer's own, which no review
    was fitted on. It flags from the cut the layer's reading was fitted with. None when the
    layer has no reading: when it was fitted, the reading did not earn its place."""
    flag = layer.model.lexical_flag
    if not flag:
        return None
    penalties = layer.model.meta.get("penalties") or [1.0]
    logits = report_logits_left_out(data, float(penalties[0]))
    if reviewed:
        index = SemanticIndex(layer.model, [])
        links = sorted(reviewed)
        vectors = layer.encoder.encode([reviewed[k] for k in links])
        read = zip(links, vectors, strict=True)
        logits.update({("reviews", k): index.report_logit(v) for k, v in read})
    refit = _reading_flag(with_reading(rows, logits), float(flag["threshold"]))
    return {"semantic": layer.model.version, **refit}


def fit_lexical_kind(
    rows: LabelledSet, logits: dict[tuple[str, str], float], exclude: str | None = None
) -> dict[str, Any]:
    """The lexical kind model refitted with the article's logit as one more feature, on
    the positives of every corpus but `exclude` (logits left out by corpus: stacking)."""
    positives = [
        r
        for r in rows.rows
        if r.label and r.expected_kind in ("breach", "rollback") and r.source != exclude
    ]
    weights, bias = fit_logistic(
        [{**r.kind_features, KIND_FEATURE: logits.get((r.source, r.link), 0.0)} for r in positives],
        [int(r.expected_kind == "rollback") for r in positives],
        features=[*KIND_FEATURES, KIND_FEATURE],
        l2=KIND_L2,
        prior=KIND_PRIOR,
        prior_bias=-0.5,
    )
    return {"bias": bias, "weights": weights}


def fit_semantic(
    data: Embedded,
    penalties: tuple[float, float] | None = None,
    exclude: str | None = None,
    rows: LabelledSet | None = None,
    lexical_flag: dict[str, Any] | None = None,
) -> SemanticModel:
    """Both classifiers fitted on every item (but those of `exclude`); with `rows`, the
    lexical kind model that also weighs the article's rollback-or-breach logit; with
    `lexical_flag` (`fit_lexical_flag`), the flag model that weighs its report logit."""
    import numpy as np

    x = data.item_vectors
    groups = np.array([i.source for i in data.items])
    keep = groups != exclude if exclude else np.ones(len(groups), bool)
    report = np.array([float(i.report) for i in data.items])
    rollback = np.array([float(i.rollback) for i in data.items])
    reports = keep & (report == 1)
    if penalties is None:
        penalties = (
            choose_penalty(x[keep], report[keep], groups[keep]),
            choose_penalty(x[reports], rollback[reports], groups[reports]),
        )
    beta_report = fit_ridge_logistic(x[keep], report[keep], penalties[0])
    beta_kind = fit_ridge_logistic(x[reports], rollback[reports], penalties[1])
    meta = {
        "made_by": "pledgewatch detector fit-semantic",
        "corpora": sorted({i.source for i in data.items} - {exclude}),
        "items": int(keep.sum()),
        "reports": int(reports.sum()),
        "penalties": list(penalties),
    }
    lexical_kind: dict[str, Any] = {}
    if rows is not None:
        lexical_kind = fit_lexical_kind(rows, kind_logits_left_out(data, penalties[1]), exclude)
    parts: list[Any] = [beta_report, beta_kind, lexical_kind]
    if lexical_flag:
        parts.append(lexical_flag)
    body = json.dumps(parts, sort_keys=True).encode()
    version = "semantic-" + hashlib.sha256(body).hexdigest()[:8]
    return SemanticModel(
        version,
        Encoder.version,
        tuple(beta_report),
        tuple(beta_kind),
        meta=meta,
        lexical_kind=lexical_kind,
        lexical_flag=lexical_flag or {},
    )


def semantic_flags(
    model: SemanticModel, data: Embedded, source: str, tied: set[tuple[str, str]]
) -> dict[tuple[str, str, str], str]:
    """The layer's flags on one corpus, its catalogue standing for the user's."""
    pledges = data.pledges[source]
    index = SemanticIndex(model, data.pledge_vectors[source])
    out: dict[tuple[str, str, str], str] = {}
    for i, item in enumerate(data.items):
        if item.source != source:
            continue
        match = index.match(data.item_vectors[i])
        if match is None:
            continue
        spec = pledges[match.pledge]
        if (item.link, spec.id) in tied:
            continue
        if item.published is not None and item.published < spec.made_on:
            continue
        out[(source, item.link, spec.id)] = match.kind
    return out


@dataclass(frozen=True)
class SemanticFigures:
    lexical: Figures
    combined: Figures
    added_true: int
    added_false: int
    penalties: tuple[float, float]
    # The lexical flags with the kinds the layer gives them (left out by corpus), and
    # whether those kinds are kept: only when they agree with the labels more often.
    relabelled: Figures = field(default_factory=Figures)
    kind_override: bool = False
    # The lexical flags scored with the layer's reading of each article (left out by
    # corpus, each pledge by a flag model fitted without it), the cut learned for them,
    # and the rows they were scored on (for fitting the flag model that keeps it).
    reading: Figures = field(default_factory=Figures)
    reading_cut: float = 0.5
    reading_rows: LabelledSet = field(default_factory=LabelledSet)

    @property
    def reading_kept(self) -> bool:
        return reading_earns(self.lexical, self.reading)

    @property
    def kept(self) -> Figures:
        """The lexical flags' figures as the layer keeps them: with its reading or not."""
        return self.reading if self.reading_kept else self.lexical


def reading_earns(lexical: Figures, reading: Figures) -> bool:
    """Whether the reading earns its place: left-out F1 up, kind accuracy not down."""
    return (
        reading.counts.f1 > lexical.counts.f1
        and reading.kind_accuracy >= lexical.kind_accuracy - 1e-9
    )


def cross_validate_semantic(
    rows: LabelledSet,
    data: Embedded,
    lexical: dict[tuple[str, str, str], str] | None = None,
    jobs: int | None = None,
) -> SemanticFigures:
    """Lexical leave-one-pledge-out flags (`lexical`, when the caller has them already);
    the same with the layer's reading of each article as a flag feature; and those plus
    the layer's flags on each corpus from classifiers fitted without that corpus
    (penalties chosen once on all corpora)."""
    import numpy as np

    lexical = lopo_flags(rows, jobs=jobs) if lexical is None else lexical
    groups = np.array([i.source for i in data.items])
    report = np.array([float(i.report) for i in data.items])
    rollback = np.array([float(i.rollback) for i in data.items])
    reports = report == 1
    penalties = (
        choose_penalty(data.item_vectors, report, groups),
        choose_penalty(data.item_vectors[reports], rollback[reports], groups[reports]),
    )
    reading_rows = with_reading(rows, report_logits_left_out(data, penalties[0]))
    scored = lopo_scores(reading_rows, jobs=jobs, features=READING_FEATURES)
    read = cut_flags(reading_rows, scored)
    alone = figures(rows, lexical)
    reading = figures(rows, read)
    # The layer's own flags and kinds go on top of the lexical flags it keeps.
    earns = reading_earns(alone, reading)
    kept, kept_figures = (read, reading) if earns else (lexical, alone)
    tied = {(r.link, r.pledge_id) for r in rows.rows}
    added: dict[tuple[str, str, str], str] = {}
    logits = kind_logits_left_out(data, penalties[1])
    by_key = {(r.source, r.link, r.pledge_id): r for r in rows.rows}
    relabelled = dict(kept)
    for source in data.sources:
        model = fit_semantic(data, penalties, exclude=source)
        added.update(semantic_flags(model, data, source, tied))
        # The lexical flags' kinds as the layer would give them, fitted without the corpus.
        kind_model = replace(model, lexical_kind=fit_lexical_kind(rows, logits, source))
        for key in kept:
            row = by_key.get(key)
            if key[0] == source and row is not None:
                kind = kind_model.kind_of(row.kind_features, logits.get((key[0], key[1]), 0.0))
                relabelled[key] = kind or kept[key]
    relabel = figures(rows, relabelled)
    override = relabel.kind_accuracy > kept_figures.kind_accuracy
    combined = {**added, **(relabelled if override else kept)}
    true = sum(1 for k in added if k in rows.expected and k not in kept)
    false = sum(1 for k in added if k not in rows.expected and k not in kept)
    return SemanticFigures(
        alone,
        figures(rows, combined),
        true,
        false,
        penalties,
        relabel,
        override,
        reading,
        best_cut(reading_rows, scored),
        reading_rows,
    )


def semantic_model_from(model: SemanticModel, cv: SemanticFigures) -> SemanticModel:
    """The model with its cross-validated figures recorded."""
    meta = dict(model.meta)
    meta["cv"] = {
        "lexical": cv.lexical.as_dict(),
        "with_semantic": cv.combined.as_dict(),
        "added_true": cv.added_true,
        "added_false": cv.added_false,
        "relabelled_kind_accuracy": round(cv.relabelled.kind_accuracy, 4),
        # The kind accuracy of the flags relabelled: with the reading where it is kept.
        "kept_kind_accuracy": round(cv.kept.kind_accuracy, 4),
        "kind_override": cv.kind_override,
        "with_reading": cv.reading.as_dict(),
        "reading_kept": cv.reading_kept,
    }
    return replace(model, meta=meta)


__all__ = [
    "DIM",
    "Embedded",
    "Item",
    "SemanticFigures",
    "corpus_items",
    "cross_validate_semantic",
    "embed_corpora",
    "fit_lexical_flag",
    "fit_semantic",
    "refit_reading",
    "report_logits_left_out",
    "with_reading",
    "semantic_flags",
    "semantic_model_from",
]
