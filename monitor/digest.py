"""The weekly digest's content and rendering (pure: data in, text and HTML out).

`DigestData` is what the database holds about one week (loaded by
`monitor.digest_data.load_digest_data`); `build_digest` turns it into what one recipient
reads (their subscription applied, flags folded into incidents, evidence split into
emphasised segments, links made safe); `render_text` and `render_html` fill the Jinja2
templates in `monitor/templates/`. Every piece of feed text is collapsed to one line
here and escaped by the HTML template (autoescape).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from monitor.config import Subscription
from monitor.incidents import status_summary
from monitor.periods import Period

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


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
class Segment:
    """A run of an evidence sentence; `role` is set on matched words (emphasised)."""

    text: str
    role: str | None = None


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


def one_line(value: str | None) -> str:
    """Feed text for display and headers: control characters and line breaks collapsed."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value)
    return " ".join(_CONTROL.sub(" ", value).split())


def safe_url(value: str | None) -> str | None:
    """An http(s) URL with a host, else None (no javascript:, data:, relative links)."""
    value = one_line(value).replace(" ", "%20")
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


def flag_url(base_url: str, flag_id: int) -> str | None:
    """The flag's page in `pledgewatch serve`, when a public base URL is configured."""
    base = safe_url(base_url)
    return f"{base.rstrip('/')}/flags/{flag_id}" if base else None


def emphasise(sentence: str, spans: Sequence[Mapping[str, Any]]) -> tuple[Segment, ...]:
    """Split a sentence into plain and matched runs; bad or overlapping spans are skipped."""
    out: list[Segment] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (int(s.get("start", 0)), -int(s.get("end", 0)))):
        start, end = int(span.get("start", -1)), int(span.get("end", -1))
        if start < pos or end <= start or end > len(sentence):
            continue
        if start > pos:
            out.append(Segment(one_line_keep_edges(sentence[pos:start])))
        out.append(Segment(one_line(sentence[start:end]), str(span.get("role") or "match")))
        pos = end
    if pos < len(sentence):
        out.append(Segment(one_line_keep_edges(sentence[pos:])))
    return tuple(s for s in out if s.text)


def one_line_keep_edges(value: str) -> str:
    """Like one_line, but a run that began or ended with a space keeps one."""
    core = one_line(value)
    if not core:
        return " " if value else ""
    lead = " " if value[:1].isspace() else ""
    tail = " " if value[-1:].isspace() else ""
    return f"{lead}{core}{tail}"


CUE_ROLES = frozenset({"breach", "rollback"})


def best_evidence(evidence: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The sentence that matters most: one with a breach or rollback cue first, then a body
    sentence over the headline (the digest shows the headline anyway), then the one tying
    the most kinds of match together (company, subject, scope, cue, commitment)."""

    def weight(item: tuple[int, Mapping[str, Any]]) -> tuple[bool, bool, int, int]:
        index, ev = item
        roles = {str(s.get("role")) for s in ev.get("spans") or [] if isinstance(s, Mapping)}
        return bool(roles & CUE_ROLES), not ev.get("in_title"), len(roles), -index

    candidates = [(i, ev) for i, ev in enumerate(evidence) if ev.get("sentence")]
    if not candidates:
        return None
    return max(candidates, key=weight)[1]


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


def subject(content: DigestContent) -> str:
    """`pledgewatch 2026-W47: 3 new stories (2 breaches, 1 rollback), 1 confirmed`."""
    c = content.counts
    parts: list[str] = []
    if c.incidents:
        kinds = []
        if c.breaches:
            kinds.append(_plural(c.breaches, "breach", "breaches"))
        if c.rollbacks:
            kinds.append(_plural(c.rollbacks, "rollback", "rollbacks"))
        parts.append(_plural(c.incidents, "new story", "new stories") + f" ({', '.join(kinds)})")
    if c.confirmed:
        parts.append(f"{c.confirmed} confirmed")
    if c.dismissed:
        parts.append(f"{c.dismissed} dismissed")
    if c.pledge_changes:
        parts.append(_plural(c.pledge_changes, "pledge changed", "pledges changed"))
    if not parts:
        parts.append("nothing new")
    if c.feeds:
        parts.append(_plural(c.feeds, "feed not heard from", "feeds not heard from"))
    return one_line(f"pledgewatch {content.period_label}: {', '.join(parts)}")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = lambda n, one, many: _plural(int(n), one, many)
    return env


def render_text(content: DigestContent) -> str:
    """The text/plain part."""
    return (
        _environment(False)
        .get_template("digest.txt.j2")
        .render(d=content, subject=subject(content))
    )


def render_html(content: DigestContent) -> str:
    """The HTML part: inline CSS, phone-width friendly, dark-mode safe, all text escaped."""
    return (
        _environment(True)
        .get_template("digest.html.j2")
        .render(d=content, subject=subject(content))
    )
