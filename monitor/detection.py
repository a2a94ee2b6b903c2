"""Turning detector findings into Flag rows: one per (article, pledge), reviews kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from feeds.models import Article
from monitor.models import Flag
from pledges.detect import DETECTOR_VERSION, Detector, Finding
from pledges.store import active_pledges


def load_detector(session: Session) -> Detector:
    """Compile the stored (non-retired) catalogue."""
    return Detector.compile(active_pledges(session))


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
                detector_version=DETECTOR_VERSION,
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
        flag.detector_version = DETECTOR_VERSION
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


def detect_articles(
    *,
    session: Session,
    detector: Detector,
    articles: Sequence[Article],
    now: datetime | None = None,
) -> FlagChanges:
    """Scan articles and store their flags, with one query for the existing flags."""
    changes = FlagChanges()
    if not articles or detector.size == 0:
        return changes
    ids = [a.id for a in articles if a.id is not None]
    existing: dict[int, list[Flag]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for f in session.exec(select(Flag).where(col(Flag.article_id).in_(chunk))).all():
            existing.setdefault(f.article_id, []).append(f)
    for art in articles:
        assert art.id is not None
        findings = detector.scan(art.title, art.text, art.published_at)
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
    session.flush()
    return changes
