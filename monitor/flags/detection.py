"""Turning detector findings into Flag rows: one per (article, pledge), reviews kept."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, delete, select

from feeds.models import Article
from monitor.config import SemanticSetting
from monitor.store.db import as_utc
from monitor.store.models import DetectorModel, Flag, PledgeVector
from pledges.detect import Detector, Finding
from pledges.fitted import load_semantic, model_from_text
from pledges.model import LinearModel
from pledges.models import PledgeIn
from pledges.semantic import DIM, Semantic, pledge_text, vector_key
from pledges.store import active_pledges

log = logging.getLogger(__name__)
# Scans made ahead of the store (in worker processes): content hash -> the publication
# time the scan assumed, and its findings.
Scans = dict[str, tuple[datetime, list[Finding]]]
_FLAGS: Table = Flag.__table__  # type: ignore[attr-defined]


def active_model(session: Session) -> LinearModel:
    """The model this database scores with: its newest fitted one, else the shipped one.

    A stored model that cannot be read falls back to the shipped one with a warning.
    """
    row = session.exec(
        select(DetectorModel)
        .where(col(DetectorModel.active).is_(True))
        .order_by(col(DetectorModel.id).desc())
        .limit(1)
    ).first()
    if row is None:
        return model_from_text(None, "")
    return model_from_text(row.model, f"detector model {row.id} ({row.version})")


def load_detector(
    session: Session,
    semantic: SemanticSetting = False,
    min_score: float | None = None,
    pledges: list[PledgeIn] | None = None,
) -> Detector:
    """Compile the stored (non-retired) catalogue, scored by the database's model (flagging
    from `min_score` when one is set); with `semantic`, the semantic layer too when it can
    run here (else a warning), only its reading when it is "reading". `pledges` compiles
    a catalogue that is not stored (a backtest) in its place; their vectors are embedded,
    not cached in the database."""
    stored = pledges is None
    if pledges is None:
        pledges = active_pledges(session)
    layer = load_semantic() if semantic else None
    if layer is not None and semantic == "reading":
        layer = replace(layer, flags=False)
    elif layer is not None and stored:
        layer = with_stored_vectors(session, layer, pledges)
    model = flagging_from(active_model(session), min_score)
    return Detector.compile(pledges, model=model, semantic=layer)


# A threshold of 0 or 1 has no log-odds; these flag everything and nothing alike.
_LOWEST, _HIGHEST = 1e-6, 1.0 - 1e-6


def flagging_from(model: LinearModel, min_score: float | None) -> LinearModel:
    """`model` flagging findings that score at least `min_score` (`[detect] min_score`);
    unset, from the model's own threshold. The semantic layer's flags keep their own rule
    and are held to the floor only where it is higher."""
    if min_score is None:
        return model
    return replace(model, threshold=min(max(min_score, _LOWEST), _HIGHEST))


# Keys looked up per query (an IN list of a 10,000-pledge catalogue would be one query
# too long for some servers).
VECTOR_BATCH = 500


def with_stored_vectors(session: Session, layer: Semantic, pledges: list[PledgeIn]) -> Semantic:
    """The layer with every pledge's vector: read from the database where an earlier
    compile stored it, embedded (and stored) otherwise. Vectors no pledge of the catalogue
    has any more, and damaged ones, are dropped. Storing is best effort: a failed write
    costs only the embedding next time."""
    import numpy as np

    version = layer.encoder.version
    texts = {vector_key(version, pledge_text(p.title, p.statement)): p for p in pledges}
    present = set(session.exec(select(PledgeVector.key)).all())
    stored: dict[str, bytes] = {}
    wanted = sorted(present & set(texts))
    for i in range(0, len(wanted), VECTOR_BATCH):
        chunk = wanted[i : i + VECTOR_BATCH]
        rows = session.exec(select(PledgeVector).where(col(PledgeVector.key).in_(chunk)))
        stored.update({r.key: r.vector for r in rows if len(r.vector) == DIM * 4})
    missing = sorted(k for k in texts if k not in stored)
    # Rows to drop: edited or removed pledges' vectors, and damaged ones (re-embedded).
    dropped = sorted(present - set(stored))
    new: dict[str, bytes] = {}
    if missing:
        vectors = layer.encoder.encode(
            [pledge_text(texts[k].title, texts[k].statement) for k in missing]
        )
        new = {k: v.astype(np.float32).tobytes() for k, v in zip(missing, vectors, strict=True)}
    if new or dropped:
        now = datetime.now(UTC)
        try:
            for i in range(0, len(dropped), VECTOR_BATCH):
                chunk = dropped[i : i + VECTOR_BATCH]
                session.exec(delete(PledgeVector).where(col(PledgeVector.key).in_(chunk)))
            session.add_all(PledgeVector(key=k, vector=b, created_at=now) for k, b in new.items())
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            log.info("pledge vectors not stored (%s); they are embedded again next time", exc)
    stored.update(new)
    known = {k: np.frombuffer(b, dtype=np.float32) for k, b in stored.items()}
    return replace(layer, known=known)


@dataclass
class FlagChanges:
    """What applying findings did to the flags table."""

    created: list[Flag] = field(default_factory=list)
    updated: list[Flag] = field(default_factory=list)
    withdrawn: list[Flag] = field(default_factory=list)

    def merge(self, other: FlagChanges) -> None:
        self.created += other.created
        self.updated += other.updated
        self.withdrawn += other.withdrawn


def apply_findings(
    *,
    session: Session,
    article: Article,
    findings: Sequence[Finding],
    now: datetime | None = None,
    pledge_ids: set[str] | None = None,
    existing: Sequence[Flag] | None = None,
) -> FlagChanges:
    """Upsert the article's flags; flags no longer found are deactivated, never deleted.

    `pledge_ids` limits which pledges this scan speaks for (a rescan of one pledge
    must not deactivate another pledge's flags).
    """
    now = now or datetime.now(UTC)
    assert article.id is not None
    changes = FlagChanges()
    if existing is None:
        existing = session.exec(select(Flag).where(Flag.article_id == article.id)).all()
    by_pledge = {f.pledge_id: f for f in existing}
    found = set()
    for finding in findings:
        if pledge_ids is not None and finding.pledge_id not in pledge_ids:
            continue
        found.add(finding.pledge_id)
        evidence = [e.to_dict() for e in finding.evidence]
        flag = by_pledge.get(finding.pledge_id)
        if flag is None:
            flag = Flag(
                article_id=article.id,
                pledge_id=finding.pledge_id,
                kind=finding.kind,
                score=finding.score,
                reasons=list(finding.reasons),
                evidence=evidence,
                response=finding.response,
                detector_version=finding.detector_version,
                first_raised_at=now,
                updated_at=now,
            )
            session.add(flag)
            changes.created.append(flag)
            continue
        if (
            flag.active
            and flag.kind == finding.kind
            and flag.score == finding.score
            and flag.reasons == list(finding.reasons)
            and flag.evidence == evidence
        ):
            continue
        flag.kind = finding.kind
        flag.score = finding.score
        flag.reasons = list(finding.reasons)
        flag.evidence = evidence
        flag.response = finding.response
        flag.active = True
        flag.detector_version = finding.detector_version
        flag.updated_at = now
        session.add(flag)
        changes.updated.append(flag)
    for pid, flag in by_pledge.items():
        if pid in found or not flag.active:
            continue
        if pledge_ids is not None and pid not in pledge_ids:
            continue
        flag.active = False
        flag.updated_at = now
        session.add(flag)
        changes.withdrawn.append(flag)
    return changes


def findings_for(
    detector: Detector,
    scans: Scans,
    *,
    title: str,
    text: str,
    digest: str,
    published: datetime | None,
) -> list[Finding]:
    """An article's findings: scanned ahead where that scan still applies, else now.

    A scan ahead applies to the same content (`digest`) dated the same; a stored date
    that differs from what the scan assumed (an undated entry) is scanned again.
    """
    scan = scans.get(digest)
    if scan is not None and scan[0] == published:
        return scan[1]
    return detector.scan(title, text, published)


def detect_articles(
    *,
    session: Session,
    detector: Detector,
    articles: Sequence[Article],
    now: datetime | None = None,
    fresh: Collection[int] = (),
    scans: Scans | None = None,
) -> FlagChanges:
    """Scan articles and add their flags, with one query for the existing flags.

    `fresh` names articles inserted in this transaction: they have no flags to look up.
    `scans` holds findings scanned ahead (see `findings_for`).
    New flags are added to the session, not flushed (`assign_incidents` inserts them
    together with their incidents).
    """
    changes = FlagChanges()
    if not articles or detector.size == 0:
        return changes
    fresh = set(fresh)
    scans = scans or {}
    ids = [a.id for a in articles if a.id is not None and a.id not in fresh]
    existing: dict[int, list[Flag]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for f in session.exec(select(Flag).where(col(Flag.article_id).in_(chunk))).all():
            existing.setdefault(f.article_id, []).append(f)
    for art in articles:
        assert art.id is not None
        findings = findings_for(
            detector,
            scans,
            title=art.title,
            text=art.text,
            digest=art.content_hash,
            published=as_utc(art.published_at),
        )
        if not findings and art.id not in existing:
            continue
        changes.merge(
            apply_findings(
                session=session,
                article=art,
                findings=findings,
                now=now,
                existing=existing.get(art.id, []),
            )
        )
    return changes


def insert_flags(session: Session, flags: Sequence[Flag]) -> None:
    """Insert the pending ones of `flags` with one statement; they become persistent.

    The ORM sends one INSERT per flag on SQLite (it cannot match RETURNING rows to
    objects there); (article, pledge) is unique, so the rows are matched here by it.
    """
    pending = [f for f in flags if f.id is None and f in session.new]
    if not pending:
        return
    columns = [c.name for c in _FLAGS.columns if c.name != "id"]
    rows = [{c: getattr(f, c) for c in columns} for f in pending]
    stmt = _FLAGS.insert().returning(_FLAGS.c.id, _FLAGS.c.article_id, _FLAGS.c.pledge_id)
    with session.no_autoflush:
        ids = {(a, p): i for i, a, p in session.execute(stmt, rows)}
    for f in pending:
        session.expunge(f)
        f.id = ids[(f.article_id, f.pledge_id)]
        make_transient_to_detached(f)
        session.add(f)
