"""`pledgewatch eval`: run the whole pipeline on a labelled corpus and score its flags."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from feeds.errors import ParseError
from feeds.models import Article
from feeds.parse import ParsedFeed, parse
from localfiles import LocalFileError, read_local_text
from monitor.config import SemanticSetting
from monitor.ingest.pipeline import ingest_files
from monitor.query.filters import FLAG_KINDS
from monitor.store.db import open_database
from monitor.store.models import DetectorModel, Flag
from pledges.catalogue import load_catalogue
from pledges.fitted import shipped_model
from pledges.model import LinearModel
from pledges.models import PledgeIn
from pledges.semantic import SemanticModel
from pledges.store import sync_catalogue

# A labels file lists a few hundred items; the cap keeps a wrong path harmless.
MAX_LABELS_BYTES = 50_000_000


class CorpusError(Exception):
    """The corpus folder is not in the expected format."""


@dataclass(frozen=True)
class Predicted:
    """A flag as the scorer sees it."""

    link: str
    pledge_id: str
    kind: str
    score: float = 0.0
    title: str = ""
    evidence: tuple[str, ...] = ()


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class EvalReport:
    """Precision, recall and F1 overall and per pledge, with every error explained."""

    overall: Counts = field(default_factory=Counts)
    per_pledge: dict[str, Counts] = field(default_factory=dict)
    kind_agree: int = 0
    kind_total: int = 0
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    false_negatives: list[dict[str, Any]] = field(default_factory=list)
    # True positives flagged as the other kind (breach for rollback, or the reverse).
    kind_disagreements: list[dict[str, Any]] = field(default_factory=list)
    items: int = 0
    model: str = ""  # version of the model that scored

    @property
    def kind_accuracy(self) -> float:
        return self.kind_agree / self.kind_total if self.kind_total else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.overall.as_dict(),
            "kind_accuracy": round(self.kind_accuracy, 4),
            "items": self.items,
            "model": self.model,
            "per_pledge": {k: v.as_dict() for k, v in sorted(self.per_pledge.items())},
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "kind_disagreements": self.kind_disagreements,
        }


# What FORMAT.md allows an item's class to be (an expected flag's kind is one of FLAG_KINDS).
CLASSES = ("breach", "rollback", "related", "unrelated")


def load_labels(path: Path) -> list[dict[str, Any]]:
    """The items of a labels file, each checked against ../shared/eval/FORMAT.md.

    A mistyped class or kind, or a link listed twice, would otherwise change the figures
    without a word: a CorpusError names the file, the item and the field instead.
    """
    try:
        data = json.loads(read_local_text(path, max_bytes=MAX_LABELS_BYTES))
    except LocalFileError as exc:
        raise CorpusError(str(exc)) from exc
    except ValueError as exc:
        raise CorpusError(f"{path}: not a labels file ({exc})") from exc
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise CorpusError(f"{path}: not a labels file (no list 'items')")
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        _check_item(f"{path}: items[{i}]", item, seen, i)
    return items


def _check_item(where: str, item: object, seen: dict[str, int], i: int) -> None:
    if not isinstance(item, dict):
        raise CorpusError(f"{where}: must be an object")
    link = item.get("link")
    if not isinstance(link, str) or not link.strip():
        raise CorpusError(f"{where}: field 'link' is missing or empty")
    where = f"{where} ({link})"
    if link in seen:
        raise CorpusError(f"{where}: the same link as items[{seen[link]}]")
    seen[link] = i
    cls = item.get("class")
    if cls not in CLASSES:
        raise CorpusError(f"{where}: field 'class' is {cls!r}, not one of {', '.join(CLASSES)}")
    expected = item.get("expected", [])
    if not isinstance(expected, list):
        raise CorpusError(f"{where}: field 'expected' must be a list")
    pledges: set[str] = set()
    for j, exp in enumerate(expected):
        at = f"{where}: field 'expected[{j}]"
        pledge = exp.get("pledge") if isinstance(exp, dict) else None
        if not isinstance(exp, dict) or not isinstance(pledge, str) or not pledge:
            raise CorpusError(f"{at}' must be an object with a pledge id")
        if pledge in pledges:
            raise CorpusError(f"{at}.pledge': {pledge!r} is listed twice")
        pledges.add(pledge)
        if exp.get("kind") not in FLAG_KINDS:
            raise CorpusError(f"{at}.kind' is {exp.get('kind')!r}, not breach or rollback")
    if cls in FLAG_KINDS and not expected:
        raise CorpusError(f"{where}: class {cls} expects a flag, but 'expected' is empty")
    if cls not in FLAG_KINDS and expected:
        raise CorpusError(f"{where}: class {cls} expects no flag, but 'expected' lists one")


def check_labels(
    corpus: Path,
    labels: list[dict[str, Any]],
    pledges: Iterable[PledgeIn],
    feeds: Mapping[Path, ParsedFeed],
) -> None:
    """Check a corpus's labels against its catalogue and its feeds: an expected flag on a
    pledge the catalogue lacks, or on a link no feed has, could never be found."""
    path = corpus / "labels.json"
    ids = {p.id for p in pledges}
    links: set[str] = set()
    # A feed read only in part (ill-formed XML, items recovered) explains a missing link.
    partial: list[str] = []
    for f, feed in feeds.items():
        links.update(e.link or "" for e in feed.entries)
        if feed.degraded_reason:
            partial.append(f"{f} was read only in part ({feed.degraded_reason})")
    for i, item in enumerate(labels):
        where = f"{path}: items[{i}] ({item['link']})"
        for j, exp in enumerate(item.get("expected", [])):
            if exp["pledge"] not in ids:
                raise CorpusError(
                    f"{where}: field 'expected[{j}].pledge': {exp['pledge']!r} is not a pledge "
                    f"of {corpus / 'catalogue'}"
                )
        if item.get("expected") and item["link"] not in links:
            why = f"; {'; '.join(partial)}" if partial else ""
            raise CorpusError(f"{where}: no item of {corpus / 'feeds'} has this link{why}")


def _flag_row(f: Predicted, notes: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A flag as an error list shows it, with the label's note."""
    return {
        "link": f.link,
        "pledge": f.pledge_id,
        "kind": f.kind,
        "score": f.score,
        "title": f.title,
        **extra,
        "label_note": notes.get(f.link, ""),
    }


def score(labels: list[dict[str, Any]], flags: Iterable[Predicted]) -> EvalReport:
    """Score (article, pledge) flags against labels, as ../shared/eval/FORMAT.md defines."""
    report = EvalReport(items=len(labels))
    expected: dict[tuple[str, str], str] = {}
    for item in labels:
        for exp in item.get("expected", []):
            expected[(item["link"], exp["pledge"])] = exp.get("kind", "")
    notes = {item["link"]: item.get("note", "") for item in labels}
    predicted = {}
    for f in flags:
        if f.kind in ("breach", "rollback"):
            predicted[(f.link, f.pledge_id)] = f
    per: dict[str, Counts] = defaultdict(Counts)
    for key, f in predicted.items():
        if key in expected:
            report.overall.tp += 1
            per[f.pledge_id].tp += 1
            report.kind_total += 1
            if f.kind == expected[key]:
                report.kind_agree += 1
            else:
                report.kind_disagreements.append(_flag_row(f, notes, expected_kind=expected[key]))
        else:
            report.overall.fp += 1
            per[f.pledge_id].fp += 1
            report.false_positives.append(_flag_row(f, notes, evidence=list(f.evidence)))
    for key, kind in expected.items():
        if key not in predicted:
            report.overall.fn += 1
            per[key[1]].fn += 1
            report.false_negatives.append(
                {
                    "link": key[0],
                    "pledge": key[1],
                    "kind": kind,
                    "label_note": notes.get(key[0], ""),
                }
            )
    report.per_pledge = dict(per)
    return report


def feed_files(corpus: Path) -> list[Path]:
    """The corpus's feed files, in name order; a CorpusError when it has none."""
    files = sorted(p for p in (corpus / "feeds").glob("*") if p.is_file())
    if not files:
        raise CorpusError(f"{corpus / 'feeds'}: no feed files")
    return files


def corpus_feeds(corpus: Path) -> dict[Path, ParsedFeed]:
    """The corpus's feed files (`feed_files`), each parsed once (`read_feed`)."""
    return {f: read_feed(f) for f in feed_files(corpus)}


def read_feed(path: Path) -> ParsedFeed:
    """One corpus feed file, parsed; a CorpusError naming the file when it cannot be read
    or is not a feed (its items' labels would otherwise count as misses)."""
    try:
        return parse(path.read_bytes(), url=str(path))
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except ParseError as exc:
        raise CorpusError(f"{path}: {exc}") from exc


def run_eval(
    corpus: Path,
    model: LinearModel | None = None,
    semantic: SemanticModel | None = None,
    reading: bool = False,
) -> EvalReport:
    """Sync the corpus catalogue into a throwaway database, ingest its feeds, score flags.

    The shipped model scores unless `model` is given (the hand weights, a fitted file);
    with `semantic` (the shipped semantic model, loaded), the semantic layer reads the
    candidates and adds flags of its own, or with `reading` only reads them.
    """
    if not corpus.is_dir():
        raise CorpusError(f"{corpus}: no such folder")
    labels = load_labels(corpus / "labels.json")
    pledges = load_catalogue(corpus / "catalogue")
    feeds = corpus_feeds(corpus)
    check_labels(corpus, labels, pledges, feeds)
    files = [str(p) for p in feeds]
    with tempfile.TemporaryDirectory(prefix="pledgewatch-eval-") as tmp:
        db = open_database(f"sqlite:///{tmp}/eval.db")
        try:
            with db.write() as session:
                sync_catalogue(session=session, pledges=pledges)
                if model is not None:
                    session.add(
                        DetectorModel(
                            version=model.version,
                            model=model.to_json(),
                            created_at=datetime.now(UTC),
                        )
                    )
            layer: SemanticSetting = False
            if semantic is not None:
                layer = "reading" if reading else True
            ingest_files(db=db, paths=files, semantic=layer)
            with db.session() as session:
                rows = session.exec(
                    select(Flag, Article)
                    .join(Article, col(Article.id) == Flag.article_id)
                    .where(col(Flag.active).is_(True))
                ).all()
                predicted = [
                    Predicted(
                        link=a.url or "",
                        pledge_id=f.pledge_id,
                        kind=f.kind,
                        score=f.score,
                        title=a.title,
                        evidence=tuple(str(e["sentence"]) for e in f.evidence),
                    )
                    for f, a in rows
                ]
        finally:
            db.dispose()
    report = score(labels, predicted)
    base = model if model is not None else shipped_model()
    report.model = base.version
    if semantic is not None:
        report.model += f" with {semantic.version}" + ("'s reading only" if reading else "")
        # Its reading scores candidates only beside the flag model it was fitted with.
        if semantic.lexical_flag and semantic.flag_model(base) is None:
            report.model += f" (without its reading, fitted beside {semantic.lexical_flag['base']})"
    return report


def report_json(report: EvalReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


__all__ = [
    "CLASSES",
    "Counts",
    "CorpusError",
    "EvalReport",
    "Predicted",
    "check_labels",
    "corpus_feeds",
    "feed_files",
    "load_labels",
    "read_feed",
    "run_eval",
    "score",
]
