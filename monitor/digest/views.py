"""What one recipient reads for one week: the values the digest templates show.

`monitor.digest.content.build_digest` makes them; every string is already on one line
and every link is http(s) or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.digest.text import Segment


@dataclass(frozen=True)
class SourceView:
    outlet: str
    date: str
    url: str | None
    flag_url: str | None
    title: str


@dataclass(frozen=True)
class IncidentView:
    """One story: what the glance line and the details show."""

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
    company: str = ""
    pledge_id: str = ""
    pledge_title: str = ""
    published: str = ""  # first reported (earliest source), in the digest's zone
    found: str = ""  # first found by the monitor
    older: bool = False  # first reported long before it was found (see OLDER_AFTER)
    new_flags: int = 0  # its flags first raised this week


@dataclass(frozen=True)
class ReviewView:
    """A story confirmed or dismissed this week, listed once however many flags it holds."""

    decision: str
    title: str
    company: str
    pledge_id: str
    pledge_title: str
    reviewer: str
    note: str
    date: str
    flag_url: str | None
    kind: str = "breach"
    score: float = 0.0
    flags: int = 1
    decisions: str = ""  # the flags' decisions when they differ (`1 confirmed, 1 dismissed`)


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
    waiting: bool = False  # never fetched yet: not a failure


@dataclass(frozen=True)
class Counts:
    incidents: int = 0  # new stories listed (older reports and dismissed ones apart)
    flags: int = 0  # this week's flags behind them
    breaches: int = 0
    rollbacks: int = 0
    older: int = 0
    older_breaches: int = 0
    older_rollbacks: int = 0
    already_dismissed: int = 0  # stories found this week and dismissed: not listed
    confirmed: int = 0  # stories confirmed this week
    dismissed: int = 0  # stories dismissed this week
    pledge_changes: int = 0
    feeds: int = 0  # feeds failing or silent
    waiting: int = 0  # feeds waiting for a first fetch


@dataclass(frozen=True)
class DigestContent:
    """What one recipient reads for one week."""

    period: str
    period_label: str
    zone: str
    counts: Counts
    stories: tuple[IncidentView, ...]  # new this week, breaches first, then by score
    older: tuple[IncidentView, ...]  # older reports found this week, same order
    reviews: tuple[ReviewView, ...]  # confirmed stories first (same order), then dismissed
    pledge_changes: tuple[ChangeView, ...]
    feeds: tuple[FeedView, ...]
    base_url: str = ""
    audience: str = ""  # the recipient's filter, "" for everything
    recipient: str = ""  # the subscriber's address, "" for a recipient of everything

    @property
    def empty(self) -> bool:
        """Nothing new: no stories, reviews or pledge changes (feed trouble aside)."""
        return not (self.stories or self.older or self.reviews or self.pledge_changes)

    @property
    def confirmed(self) -> tuple[ReviewView, ...]:
        return tuple(r for r in self.reviews if r.decision == "confirmed")

    @property
    def dismissed(self) -> tuple[ReviewView, ...]:
        return tuple(r for r in self.reviews if r.decision == "dismissed")

    @property
    def problem_feeds(self) -> tuple[FeedView, ...]:
        return tuple(f for f in self.feeds if not f.waiting)

    @property
    def waiting_feeds(self) -> tuple[FeedView, ...]:
        return tuple(f for f in self.feeds if f.waiting)
