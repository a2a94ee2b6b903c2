"""Re-running detection over stored articles after a catalogue or detector change.

A rescan plans, per article, what the current detector would change in the flags table
(new flags, changed scores or kinds, flags no longer found, flags found again), then
applies it with `monitor.flags.detection.apply_findings` in short batched write transactions.
Flags are never deleted, so reviews and statuses always survive; a flag no longer found
is only marked inactive. A dry run plans without writing: a backtest of a new pledge
before it goes live. Running the same rescan twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from feeds.models import Article
from monitor.config import SemanticSetting
from monitor.flags.detection import apply_findings, load_detector
from monitor.flags.incidents import assign_incidents
from monitor.query.filters import start_of_day
from monitor.store.db import Database
from monitor.store.models import Flag
from pledges.detect import Detector, Finding
from pledges.models import Pledge

log = logging.getLogger(__name__)

BATCH = 500
ACTIONS = ("new", "changed", "reactivated", "deactivated")


class RescanError(Exception):
    """A rescan cannot run as asked (an unknown pledge id)."""


@dataclass(frozen=True)
class FlagChange:
    """One change a rescan makes (or would make) to the flags table."""

    action: str  # new | changed | reactivated | deactivated
    article_id: int
    article_title: str
    pledge_id: str
    flag_id: int | None
    status: str
    old_kind: str | None
    new_kind: str | None
    old_score: float | None
    new_score: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "flag_id": self.flag_id,
            "pledge_id": self.pledge_id,
            "article_id": self.article_id,
            "title": self.article_title,
            "status": self.status,
            "old_kind": self.old_kind,
            "new_kind": self.new_kind,
            "old_score": self.old_score,
            "new_score": self.new_score,
        }


@dataclass
class RescanReport:
    """What a rescan found: articles scanned and every flag change."""

    dry_run: bool
    pledge_ids: list[str] | None
    since: date | None
    articles: int = 0
    changes: list[FlagChange] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in ACTIONS}


def plan_changes(
    article: Article,
    existing: Sequence[Flag],
    findings: Sequence[Finding],
    pledge_ids: set[str] | None,
) -> list[FlagChange]:
    """What `apply_findings` would do for one article (pure: nothing is written)."""
    assert article.id is not None
    by_pledge = {f.pledge_id: f for f in existing}
    found: set[str] = set()
    out: list[FlagChange] = []

    def change(action: str, pid: str, flag: Flag | None, finding: Finding | None) -> FlagChange:
        return FlagChange(
            action=action,
            article_id=article.id or 0,
            article_title=article.title,
            pledge_id=pid,
            flag_id=flag.id if flag else None,
            status=flag.status if flag else "open",
            old_kind=flag.kind if flag else None,
            new_kind=finding.kind if finding else None,
            old_score=flag.score if flag else None,
            new_score=finding.score if finding else None,
        )

    for finding in findings:
        if pledge_ids is not None and finding.pledge_id not in pledge_ids:
            continue
        found.add(finding.pledge_id)
        flag = by_pledge.get(finding.pledge_id)
        if flag is None:
            out.append(change("new", finding.pledge_id, None, finding))
            continue
        evidence = [e.to_dict() for e in finding.evidence]
        if not flag.active:
            out.append(change("reactivated", finding.pledge_id, flag, finding))
        elif (
            flag.kind != finding.kind
            or flag.score != finding.score
            or flag.reasons != list(finding.reasons)
            or flag.evidence != evidence
        ):
            out.append(change("changed", finding.pledge_id, flag, finding))
    for pid, flag in by_pledge.items():
        if pid in found or not flag.active:
            continue
        if pledge_ids is not None and pid not in pledge_ids:
            continue
        out.append(change("deactivated", pid, flag, None))
    return out


def count_articles_since(session: Session, since: date | None) -> int:
    """How many articles a rescan from `since` goes through (for a progress bar)."""
    stmt = select(func.count(col(Article.id)))
    if since is not None:
        stmt = stmt.where(col(Article.published_at) >= start_of_day(since))
    return int(session.exec(stmt).one())


def _batch(session: Session, after: int, since: date | None) -> list[Article]:
    stmt = select(Article).where(col(Article.id) > after)
    if since is not None:
        stmt = stmt.where(col(Article.published_at) >= start_of_day(since))
    return list(session.exec(stmt.order_by(col(Article.id)).limit(BATCH)).all())


def _flags_of(session: Session, ids: list[int]) -> dict[int, list[Flag]]:
    out: dict[int, list[Flag]] = {}
    for f in session.exec(select(Flag).where(col(Flag.article_id).in_(ids))).all():
        out.setdefault(f.article_id, []).append(f)
    return out


def rescan(
    *,
    db: Database,
    pledge_ids: Sequence[str] | None = None,
    since: date | None = None,
    dry_run: bool = False,
    detector: Detector | None = None,
    now: datetime | None = None,
    on_batch: Callable[[RescanReport], None] | None = None,
    semantic: SemanticSetting = False,
    min_score: float | None = None,
) -> RescanReport:
    """Re-run detection over stored articles (all, or published since `since`).

    `pledge_ids` limits which pledges the rescan speaks for: other pledges' flags are
    left exactly as they are.
    """
    now = now or datetime.now(UTC)
    scope = set(pledge_ids) if pledge_ids else None
    with db.session() as session:
        # A detector given by the caller (a catalogue folder to backtest) names its own
        # pledges; otherwise the ids must be stored pledges.
        if scope is not None and detector is None:
            known = set(session.exec(select(Pledge.id).where(col(Pledge.id).in_(scope))).all())
            missing = sorted(scope - known)
            if missing:
                raise RescanError(
                    f"no pledge with id {', '.join(missing)} (see `pledgewatch pledges list`)"
                )
        if detector is None:
            detector = load_detector(session, semantic, min_score)
    report = RescanReport(dry_run=dry_run, pledge_ids=sorted(scope) if scope else None, since=since)
    after = 0
    while True:
        with db.session() as session:
            articles = _batch(session, after, since)
        if not articles:
            break
        after = articles[-1].id or after
        report.articles += len(articles)
        findings = {a.id: detector.scan(a.title, a.text, a.published_at) for a in articles}
        if dry_run:
            with db.session() as session:
                existing = _flags_of(session, [a.id for a in articles if a.id is not None])
        else:
            _apply(db, articles, findings, scope, now, report)
            if on_batch is not None:
                on_batch(report)
            continue
        for a in articles:
            report.changes += plan_changes(a, existing.get(a.id or 0, []), findings[a.id], scope)
        if on_batch is not None:
            on_batch(report)
    log.info("rescan articles=%d dry_run=%s changes=%s", report.articles, dry_run, report.summary)
    return report


def _apply(
    db: Database,
    articles: list[Article],
    findings: dict[int | None, list[Finding]],
    scope: set[str] | None,
    now: datetime,
    report: RescanReport,
) -> None:
    with db.write() as session:
        existing = _flags_of(session, [a.id for a in articles if a.id is not None])
        created: list[Flag] = []
        planned: list[FlagChange] = []
        for a in articles:
            mine = existing.get(a.id or 0, [])
            found = findings[a.id]
            if not found and not mine:
                continue
            planned += plan_changes(a, mine, found, scope)
            applied = apply_findings(
                session=session, article=a, findings=found, now=now, pledge_ids=scope, existing=mine
            )
            created += applied.created
        session.flush()
        assign_incidents(session=session, flags=created, now=now)
    ids = {(f.article_id, f.pledge_id): f.id for f in created}
    report.changes += [
        replace(c, flag_id=ids.get((c.article_id, c.pledge_id))) if c.action == "new" else c
        for c in planned
    ]
