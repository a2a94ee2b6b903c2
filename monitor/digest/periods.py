"""Digest periods: ISO weeks in the configured time zone, and when each one is due.

A period is the ISO week `YYYY-Www` from Monday 00:00 to the next Monday 00:00 local
time. The digest for a week is sent at the configured weekday and time of the following
week. Everything is computed in the zone with zoneinfo and compared in UTC, so a
daylight-saving change moves the instant of midnight or of the send time but never makes
a week appear twice or go missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_PATTERN = re.compile(r"(\d{4})-?W(\d{2})")
WEEKDAY_INDEX = {
    name: i
    for i, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


class PeriodError(ValueError):
    """A week could not be parsed (the message shows the expected form)."""


@dataclass(frozen=True, order=True)
class Period:
    """One ISO week."""

    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError as exc:
            raise PeriodError(f"{self.year} has no ISO week {self.week}") from exc

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read `2026-W47` (or `2026W47`)."""
        m = WEEK_PATTERN.fullmatch(text.strip().upper())
        if not m:
            raise PeriodError(f"expected an ISO week like 2026-W47, got {text!r}")
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, day: date) -> Period:
        """The week a calendar day falls in."""
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def containing(cls, instant: datetime, zone: ZoneInfo) -> Period:
        """The week an instant falls in, as seen in `zone`."""
        return cls.of(instant.astimezone(zone).date())

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shift(self, weeks: int) -> Period:
        return Period.of(self.monday + timedelta(weeks=weeks))

    def start(self, zone: ZoneInfo) -> datetime:
        """Monday 00:00 local, in UTC."""
        return _local(self.monday, time(0, 0), zone)

    def end(self, zone: ZoneInfo) -> datetime:
        """The next Monday 00:00 local, in UTC (exclusive)."""
        return self.shift(1).start(zone)

    def send_at(self, weekday: str, at: str, zone: ZoneInfo) -> datetime:
        """When this week's digest is due: `weekday` `at` (HH:MM) of the following week."""
        hours, minutes = (int(p) for p in at.split(":"))
        day = self.shift(1).monday + timedelta(days=WEEKDAY_INDEX[weekday])
        return _local(day, time(hours, minutes), zone)

    def label(self) -> str:
        """`2026-W47 (16-22 Nov 2026)` for subjects and headings."""
        mon, sun = self.monday, self.sunday
        if mon.month == sun.month:
            span = f"{mon.day}-{sun.day} {sun:%b %Y}"
        elif mon.year == sun.year:
            span = f"{mon.day} {mon:%b}-{sun.day} {sun:%b %Y}"
        else:
            span = f"{mon.day} {mon:%b %Y}-{sun.day} {sun:%b %Y}"
        return f"{self} ({span})"


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous local time (the repeated hour at fall-back) means its first
    # occurrence; a missing one (spring-forward gap) maps to the instant after the gap.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def latest_due(now: datetime, *, weekday: str, at: str, zone: ZoneInfo) -> Period:
    """The newest week whose send time has passed at `now`."""
    candidate = Period.containing(now, zone).shift(-1)
    if candidate.send_at(weekday, at, zone) > now:
        candidate = candidate.shift(-1)
    return candidate


def due_periods(
    now: datetime, *, weekday: str, at: str, zone: ZoneInfo, catch_up_weeks: int
) -> list[Period]:
    """The newest due week and up to `catch_up_weeks` before it, oldest first."""
    latest = latest_due(now, weekday=weekday, at=at, zone=zone)
    return [latest.shift(-n) for n in range(catch_up_weeks, -1, -1)]
