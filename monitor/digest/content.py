"""The weekly digest's content (pure: the week's data in, one recipient's digest out).

`DigestData` is what the database holds about one week (loaded by
`monitor.digest.data.load_digest_data`); `build_digest` turns it into what one recipient
reads: their subscription applied, flags folded into incidents, the best evidence
sentence split into emphasised runs, links made safe, every piece of feed text collapsed
to one line. `monitor.digest.render` fills the templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import Subscription
from monitor.digest.periods import Period
from monitor.digest.text import Segment, best_evidence, emphasise, flag_url, one_line, safe_url
from monitor.flags.incidents import status_summary


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
    """A feed that failed or went silent."""

    name: str
    url: str
    consecutive_errors: int
    last_success_at: datetime | None
    error: str | None
    gone: bool = False


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


@dataclass(frozen=True)
class SourceView:
    outlet: str
    date: str
    url: str | None
    flag_url: str | None
    title: str


@dataclass(frozen=True)
class IncidentView:
    title: str
    kind: str
    score: float
    status: str
    evidence: tuple[Segment, ...]
    in_title: bool
    response: str | None
    sources: tuple[SourceView, ...]
    flag_url: str | None
    follow_up_of: str | None  # first-seen date of an incident that began in an earlier week


@dataclass(frozen=True)
class PledgeView:
    pledge_id: str
    title: str
    incidents: tuple[IncidentView, ...]


@dataclass(frozen=True)
class CompanyView:
    name: str
    pledges: tuple[PledgeView, ...]


@dataclass(frozen=True)
class ReviewView:
    decision: str
    title: str
    company: str
    pledge_id: str
    pledge_title: str
    reviewer: str
    note: str
    date: str
    flag_url: str | None


@dataclass(frozen=True)
class ChangeView:
    company: str
    pledge_id: str
    title: str
    status: str
    events: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FeedView:
    name: str
    url: str
    problem: str


@dataclass(frozen=True)
class Counts:
    incidents: int = 0
    flags: int = 0
    breaches: int = 0
    rollbacks: int = 0
    confirmed: int = 0
    dismissed: int = 0
    pledge_changes: int = 0
    feeds: int = 0


@dataclass(frozen=True)
class DigestContent:
    """What one recipient reads for one week."""

    period: str
    period_label: str
    zone: str
    counts: Counts
    companies: tuple[CompanyView, ...]
    reviews: tuple[ReviewView, ...]
    pledge_changes: tuple[ChangeView, ...]
    feeds: tuple[FeedView, ...]
    base_url: str = ""

    @property
    def empty(self) -> bool:
        """Nothing new: no incidents, reviews or pledge changes (feed trouble aside)."""
        return not (self.companies or self.reviews or self.pledge_changes)


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
    )


def build_digest(
    data: DigestData, *, subscription: Subscription | None = None, base_url: str = ""
) -> DigestContent:
    """One recipient's digest: their subscription applied, flags folded into incidents."""
    zone = ZoneInfo(data.zone)
    audience = Audience.of(subscription)

    def wanted(company: str, pledge_id: str, score: float) -> bool:
        return score >= audience.min_score and audience.wants(
            company, data.aliases.get(company, ()), pledge_id
        )

    flags = [f for f in data.flags if wanted(f.company, f.pledge_id, f.score)]
    new_incidents = {f.incident_id or -f.id for f in flags if data.is_new(f)}
    groups: dict[int, list[FlagItem]] = {}
    for f in flags:
        key = f.incident_id or -f.id
        if key in new_incidents:
            groups.setdefault(key, []).append(f)
    by_pledge: dict[tuple[str, str, str], list[IncidentView]] = {}
    new_flags = 0
    for members in groups.values():
        new_flags += sum(1 for f in members if data.is_new(f))
        head = members[0]
        by_pledge.setdefault((head.company, head.pledge_id, head.pledge_title), []).append(
            _incident(members, data, base_url, zone)
        )
    companies: dict[str, list[PledgeView]] = {}
    for (company, pid, ptitle), incidents in sorted(
        by_pledge.items(), key=lambda kv: (kv[0][0].casefold(), kv[0][1])
    ):
        incidents.sort(key=lambda i: (-i.score, i.title))
        companies.setdefault(company, []).append(
            PledgeView(pid, one_line(ptitle), tuple(incidents))
        )
    reviews = tuple(
        ReviewView(
            decision=r.decision,
            title=one_line(r.title),
            company=r.company,
            pledge_id=r.pledge_id,
            pledge_title=one_line(r.pledge_title),
            reviewer=one_line(r.reviewer),
            note=one_line(r.note),
            date=_day(r.created_at, zone),
            flag_url=flag_url(base_url, r.flag_id),
        )
        for r in sorted(data.reviews, key=lambda r: (r.created_at, r.flag_id))
        if wanted(r.company, r.pledge_id, r.score)
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
    kinds = [p.incidents for c in companies.values() for p in c]
    all_incidents = [i for group in kinds for i in group]
    counts = Counts(
        incidents=len(all_incidents),
        flags=new_flags,
        breaches=sum(1 for i in all_incidents if i.kind == "breach"),
        rollbacks=sum(1 for i in all_incidents if i.kind == "rollback"),
        confirmed=sum(1 for r in reviews if r.decision == "confirmed"),
        dismissed=sum(1 for r in reviews if r.decision == "dismissed"),
        pledge_changes=len(changes),
        feeds=len(feeds),
    )
    return DigestContent(
        period=str(data.period),
        period_label=data.period.label(),
        zone=data.zone,
        counts=counts,
        companies=tuple(CompanyView(name, tuple(p)) for name, p in companies.items()),
        reviews=reviews,
        pledge_changes=changes,
        feeds=feeds,
        base_url=safe_url(base_url) or "",
    )


def _feed_view(p: FeedProblem, zone: ZoneInfo) -> FeedView:
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
    return FeedView(name=one_line(p.name) or one_line(p.url), url=one_line(p.url), problem=problem)
