"""The weekly digest's content (pure: the week's data in, one recipient's digest out).

`DigestData` is what the database holds about one week (loaded by
`monitor.digest.data.load_digest_data`); `build_digest` turns it into what one recipient
reads (`monitor.digest.views`): their subscription applied, flags folded into stories
(incidents), stories already dismissed left out, older reports found this week kept
apart, and everything in the order a busy reader wants it (breaches first, then
rollbacks by score). Feed text is collapsed to one line and links are made safe;
`monitor.digest.render` fills the templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import Subscription
from monitor.digest.periods import Period
from monitor.digest.text import best_evidence, emphasise, flag_url, one_line, safe_url
from monitor.digest.views import (
    ChangeView,
    Counts,
    DigestContent,
    FeedView,
    IncidentView,
    ReviewView,
    SourceView,
)
from monitor.flags.incidents import status_summary

# A story first published this long before it was found is an older report (back-fill from
# a new feed, an archive or a search), not this week's news. Four weeks: a feed carries a
# few weeks of items, a monthly outlet dates its pieces up to a month back, and a daemon
# that was down sends up to `catch_up_weeks` (default 4) missed weeks, so reports younger
# than that still belong to a week a reader gets.
OLDER_AFTER = timedelta(days=28)


@dataclass(frozen=True)
class FlagItem:
    """A flag raised this week, or an earlier flag of the same incident."""

    id: int
    incident_id: int | None
    pledge_id: str
    pledge_title: str
    company: str
    kind: str
    score: float
    status: str
    title: str
    url: str | None
    outlets: tuple[str, ...]
    published: datetime | None
    first_raised_at: datetime
    evidence: tuple[Mapping[str, Any], ...] = ()
    response: str | None = None
    incident_title: str = ""
    incident_first_seen: datetime | None = None
    # The feed gave no date, so `published` is a guess and says nothing about age.
    published_estimated: bool = False


@dataclass(frozen=True)
class ReviewItem:
    """A confirm or dismiss decision recorded this week (the latest per flag)."""

    flag_id: int
    decision: str
    note: str
    reviewer: str
    created_at: datetime
    pledge_id: str
    pledge_title: str
    company: str
    title: str
    score: float
    kind: str = "breach"
    incident_id: int | None = None


@dataclass(frozen=True)
class PledgeChange:
    """A pledge with history events recorded this week, and its status now."""

    pledge_id: str
    title: str
    company: str
    status: str
    events: tuple[tuple[date, str], ...]


@dataclass(frozen=True)
class FeedProblem:
    """A feed that failed, went silent, or has not been fetched yet."""

    name: str
    url: str
    consecutive_errors: int
    last_success_at: datetime | None
    error: str | None
    gone: bool = False
    # No fetch ever tried (a feed added since the last poll): waiting, not failing.
    never_fetched: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class DigestData:
    """Everything the database says about one week, for every recipient."""

    period: Period
    zone: str
    flags: tuple[FlagItem, ...] = ()
    reviews: tuple[ReviewItem, ...] = ()
    pledge_changes: tuple[PledgeChange, ...] = ()
    feeds: tuple[FeedProblem, ...] = ()
    # Company name -> its aliases, for subscriptions that name a company by an alias.
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def is_new(self, flag: FlagItem) -> bool:
        zone = ZoneInfo(self.zone)
        return self.period.start(zone) <= flag.first_raised_at < self.period.end(zone)


@dataclass(frozen=True)
class Audience:
    """What one recipient asked for: everything, or some companies or pledges."""

    companies: tuple[str, ...] = ()
    pledges: tuple[str, ...] = ()
    min_score: float = 0.0

    @classmethod
    def of(cls, sub: Subscription | None) -> Audience:
        if sub is None:
            return cls()
        return cls(tuple(sub.companies), tuple(sub.pledges), sub.min_score)

    def wants(self, company: str, aliases: Sequence[str], pledge_id: str) -> bool:
        if not self.companies and not self.pledges:
            return True
        names = {n.casefold() for n in (company, *aliases)}
        return pledge_id in self.pledges or any(c.casefold() in names for c in self.companies)

    def describe(self) -> str:
        """`Amazon, Microsoft; score >= 0.7`, or "" for a recipient of everything."""
        parts = [", ".join(one_line(c) for c in self.companies if one_line(c))]
        if self.pledges:
            parts.append("pledges " + ", ".join(one_line(p) for p in self.pledges))
        if self.min_score > 0:
            parts.append(f"score >= {self.min_score:g}")
        return "; ".join(p for p in parts if p)


def reading_order(kind: str, score: float, title: str) -> tuple[int, float, str]:
    """Breaches first, then rollbacks (and any other kind), each by score, highest first."""
    return (0 if kind == "breach" else 1, -score, title.casefold())


def is_older_report(first_reported: datetime | None, found: datetime) -> bool:
    """Reported long before the monitor found it: back-fill, not this week's news."""
    return first_reported is not None and found - first_reported > OLDER_AFTER


def _day(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d") if value else ""


def _incident(
    members: Sequence[FlagItem], data: DigestData, base_url: str, zone: ZoneInfo
) -> IncidentView:
    # The headline and evidence are this week's news; earlier flags of the story are sources.
    fresh = [f for f in members if data.is_new(f)] or list(members)
    best = max(fresh, key=lambda f: (f.score, -f.id))
    ev = best_evidence(best.evidence) or {"sentence": best.title, "spans": [], "in_title": True}
    sources = tuple(
        SourceView(
            outlet=one_line(", ".join(f.outlets)) or "unknown outlet",
            date=_day(f.published, zone),
            url=safe_url(f.url),
            flag_url=flag_url(base_url, f.id),
            title=one_line(f.title),
        )
        for f in sorted(members, key=lambda f: (f.published or f.first_raised_at, f.id))
    )
    first = best.incident_first_seen
    follow_up = first is not None and first < data.period.start(zone)
    found = min([f.first_raised_at for f in members] + ([first] if first else []))
    dated = [f.published for f in members if f.published and not f.published_estimated]
    reported = min(dated) if dated else None
    return IncidentView(
        title=one_line(best.title or best.incident_title),
        kind=best.kind,
        score=best.score,
        status=status_summary([f.status for f in members]),
        evidence=emphasise(str(ev.get("sentence", "")), ev.get("spans") or []),
        in_title=bool(ev.get("in_title")),
        response=one_line(best.response) or None,
        sources=sources,
        flag_url=flag_url(base_url, best.id),
        follow_up_of=_day(first, zone) if follow_up else None,
        company=one_line(best.company),
        pledge_id=best.pledge_id,
        pledge_title=one_line(best.pledge_title),
        published=_day(reported, zone),
        found=_day(found, zone),
        older=is_older_report(reported, found),
        new_flags=sum(1 for f in members if data.is_new(f)),
    )


def _story_key(flag_id: int, incident_id: int | None) -> int:
    # A flag outside any incident is a story of its own (negative: never an incident id).
    return incident_id or -flag_id


def _reviewed_stories(
    reviews: Iterable[ReviewItem], base_url: str, zone: ZoneInfo
) -> tuple[ReviewView, ...]:
    by_story: dict[int, list[ReviewItem]] = {}
    for r in sorted(reviews, key=lambda r: (r.created_at, r.flag_id)):
        by_story.setdefault(_story_key(r.flag_id, r.incident_id), []).append(r)
    views = []
    for items in by_story.values():
        last = items[-1]  # the story's latest decision this week speaks for it
        best = max(items, key=lambda r: (r.score, -r.flag_id))
        decisions = status_summary([r.decision for r in items]) if len(items) > 1 else ""
        views.append(
            ReviewView(
                decision=last.decision,
                title=one_line(best.title),
                company=one_line(best.company),
                pledge_id=best.pledge_id,
                pledge_title=one_line(best.pledge_title),
                reviewer=one_line(last.reviewer),
                note=one_line(last.note) or next((one_line(r.note) for r in items if r.note), ""),
                date=_day(last.created_at, zone),
                flag_url=flag_url(base_url, best.flag_id),
                kind=best.kind,
                score=best.score,
                flags=len(items),
                decisions=decisions if "," in decisions else "",
            )
        )
    views.sort(key=lambda r: (r.decision != "confirmed", *reading_order(r.kind, r.score, r.title)))
    return tuple(views)


def build_digest(
    data: DigestData, *, subscription: Subscription | None = None, base_url: str = ""
) -> DigestContent:
    """One recipient's digest: their subscription applied, flags folded into stories."""
    zone = ZoneInfo(data.zone)
    audience = Audience.of(subscription)

    def wanted(company: str, pledge_id: str, score: float) -> bool:
        return score >= audience.min_score and audience.wants(
            company, data.aliases.get(company, ()), pledge_id
        )

    flags = [f for f in data.flags if wanted(f.company, f.pledge_id, f.score)]
    new_incidents = {_story_key(f.id, f.incident_id) for f in flags if data.is_new(f)}
    groups: dict[int, list[FlagItem]] = {}
    for f in flags:
        key = _story_key(f.id, f.incident_id)
        if key in new_incidents:
            groups.setdefault(key, []).append(f)
    stories: list[IncidentView] = []
    already_dismissed = 0
    for members in groups.values():
        if all(f.status == "dismissed" for f in members if data.is_new(f)):
            already_dismissed += 1  # this week's news on it was judged a false alarm
            continue
        stories.append(_incident(members, data, base_url, zone))
    stories.sort(key=lambda i: (*reading_order(i.kind, i.score, i.title), i.company))
    new = tuple(i for i in stories if not i.older)
    older = tuple(i for i in stories if i.older)
    reviews = _reviewed_stories(
        (r for r in data.reviews if wanted(r.company, r.pledge_id, r.score)), base_url, zone
    )
    changes = tuple(
        ChangeView(
            c.company,
            c.pledge_id,
            one_line(c.title),
            c.status,
            tuple((d.isoformat(), one_line(e)) for d, e in c.events),
        )
        for c in sorted(data.pledge_changes, key=lambda c: (c.company.casefold(), c.pledge_id))
        if audience.wants(c.company, data.aliases.get(c.company, ()), c.pledge_id)
    )
    feeds = tuple(_feed_view(p, zone) for p in data.feeds)
    counts = Counts(
        incidents=len(new),
        flags=sum(i.new_flags for i in new),
        breaches=sum(1 for i in new if i.kind == "breach"),
        rollbacks=sum(1 for i in new if i.kind == "rollback"),
        older=len(older),
        older_breaches=sum(1 for i in older if i.kind == "breach"),
        older_rollbacks=sum(1 for i in older if i.kind == "rollback"),
        already_dismissed=already_dismissed,
        confirmed=sum(1 for r in reviews if r.decision == "confirmed"),
        dismissed=sum(1 for r in reviews if r.decision == "dismissed"),
        pledge_changes=len(changes),
        feeds=sum(1 for f in feeds if not f.waiting),
        waiting=sum(1 for f in feeds if f.waiting),
    )
    return DigestContent(
        period=str(data.period),
        period_label=data.period.label(),
        zone=data.zone,
        counts=counts,
        stories=new,
        older=older,
        reviews=reviews,
        pledge_changes=changes,
        feeds=feeds,
        base_url=safe_url(base_url) or "",
        audience=audience.describe(),
        recipient=one_line(subscription.email) if subscription is not None else "",
    )


def _feed_view(p: FeedProblem, zone: ZoneInfo) -> FeedView:
    name = one_line(p.name) or one_line(p.url)
    if p.never_fetched and not p.gone:
        added = f" (added {_day(p.created_at, zone)})" if p.created_at else ""
        return FeedView(name, one_line(p.url), f"waiting for a first fetch{added}", waiting=True)
    if p.gone:
        problem = "gone (the server says it no longer exists); polling stopped"
    elif p.consecutive_errors:
        problem = f"{p.consecutive_errors} failed fetches in a row"
        if p.error:
            problem += f": {one_line(p.error)[:200]}"
    elif p.last_success_at is None:
        problem = "never fetched successfully"
    else:
        problem = "no successful fetch for days"
    if p.last_success_at is not None:
        problem += f" (last success {_day(p.last_success_at, zone)})"
    return FeedView(name=name, url=one_line(p.url), problem=problem)
