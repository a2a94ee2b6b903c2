"""Digest periods: ISO weeks in the configured zone, send times, due weeks, DST nights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.digest.periods import Period, PeriodError, due_periods, latest_due

BERLIN = ZoneInfo("Europe/Berlin")


def test_weeks_parse_and_print_as_iso_weeks() -> None:
    assert str(Period.parse("2026-W47")) == "2026-W47"
    assert Period.parse("2026w05") == Period(2026, 5)
    assert Period.parse(" 2020-W53 ") == Period(2020, 53)


@pytest.mark.parametrize("text", ["2026-47", "W47", "2026-W54", "2025-W53", "2026-W00", ""])
def test_a_malformed_or_impossible_week_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(PeriodError) as err:
        Period.parse(text)
    assert "2026-W47" in str(err.value) or "no ISO week" in str(err.value)


def test_a_week_runs_from_monday_midnight_to_the_next_in_the_zone() -> None:
    week = Period(2026, 47)
    assert week.monday.isoformat() == "2026-11-16"
    assert week.start(BERLIN) == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
    assert week.end(BERLIN) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert week.start(ZoneInfo("UTC")) == datetime(2026, 11, 16, tzinfo=UTC)


def test_the_week_of_the_autumn_clock_change_is_an_hour_longer_and_weeks_still_tile() -> None:
    # Clocks go back on Sunday 26 October 2025 in Berlin: week 43 has 169 hours.
    w43 = Period(2025, 43)
    assert w43.end(BERLIN) - w43.start(BERLIN) == timedelta(hours=169)
    assert w43.end(BERLIN) == w43.shift(1).start(BERLIN)
    w13 = Period(2025, 13)  # spring forward on 30 March 2025: 167 hours
    assert w13.end(BERLIN) - w13.start(BERLIN) == timedelta(hours=167)


def test_an_instant_belongs_to_the_week_of_its_local_date() -> None:
    # Sunday 23:30 UTC is already Monday in Berlin.
    instant = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert Period.containing(instant, BERLIN) == Period(2026, 48)
    assert Period.containing(instant, ZoneInfo("UTC")) == Period(2026, 47)


def test_a_weeks_digest_is_due_at_the_send_time_of_the_following_week() -> None:
    week = Period(2026, 47)
    assert week.send_at("monday", "08:00", BERLIN) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert week.send_at("sunday", "18:30", ZoneInfo("UTC")) == datetime(
        2026, 11, 29, 18, 30, tzinfo=UTC
    )


def test_the_newest_due_week_changes_exactly_at_the_send_time() -> None:
    send = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin
    kw = {"weekday": "monday", "at": "08:00", "zone": BERLIN}
    assert latest_due(send - timedelta(seconds=1), **kw) == Period(2026, 46)
    assert latest_due(send, **kw) == Period(2026, 47)
    assert latest_due(send + timedelta(days=6), **kw) == Period(2026, 47)


def test_due_weeks_include_the_catch_up_weeks_oldest_first() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    weeks = due_periods(now, weekday="monday", at="08:00", zone=BERLIN, catch_up_weeks=3)
    assert [str(w) for w in weeks] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert due_periods(now, weekday="monday", at="08:00", zone=BERLIN, catch_up_weeks=0) == [
        Period(2026, 47)
    ]


def test_an_ambiguous_send_time_on_the_fall_back_night_means_its_first_occurrence() -> None:
    # 02:30 happens twice on 26 October 2025 in Berlin; the first is 00:30 UTC.
    week = Period(2025, 42)
    assert week.send_at("sunday", "02:30", BERLIN) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    # 02:30 does not exist on 30 March 2025: the send time falls just after the gap.
    spring = Period(2025, 12)
    assert spring.send_at("sunday", "02:30", BERLIN) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


def test_labels_show_the_dates_of_the_week() -> None:
    assert Period(2026, 47).label() == "2026-W47 (16-22 Nov 2026)"
    assert Period(2026, 44).label() == "2026-W44 (26 Oct-1 Nov 2026)"
    assert Period(2026, 53).label() == "2026-W53 (28 Dec 2026-3 Jan 2027)"
