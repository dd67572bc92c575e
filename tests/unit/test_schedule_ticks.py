"""Cron ticks in a time zone, across DST changes in two zones (New York: 02:00 skipped in March, 01:00 repeated in
November; Berlin: 02:00 skipped, 02:00 repeated), and the one catch-up tick after downtime."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kasset.planning.ticks import latest_tick, next_tick

UTC = timezone.utc
NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def ticks(expression: str, zone: ZoneInfo, after: datetime, count: int) -> list[str]:
    found = []
    for _ in range(count):
        after = next_tick(expression, zone, after=after)
        found.append(after.astimezone(zone).isoformat())
    return found


@pytest.mark.parametrize("zone, night, expected", [
    (NEW_YORK, datetime(2026, 3, 8, 5, tzinfo=UTC),  # 00:00 EST
     ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"]),
    (BERLIN, datetime(2026, 3, 28, 23, tzinfo=UTC),  # 00:00 CET
     ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"]),
])
def test_an_hourly_schedule_runs_once_for_the_hour_dst_skips(zone, night, expected):
    assert ticks("0 * * * *", zone, night, 3) == expected


@pytest.mark.parametrize("zone, night, expected", [
    (NEW_YORK, datetime(2026, 11, 1, 4, tzinfo=UTC),  # 00:00 EDT
     ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"]),
    (BERLIN, datetime(2026, 10, 24, 23, tzinfo=UTC),  # 01:00 CEST
     ["2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"]),
])
def test_an_hourly_schedule_does_not_run_the_repeated_hour_twice(zone, night, expected):
    assert ticks("0 * * * *", zone, night, 3) == expected


@pytest.mark.parametrize("zone, expression, before, expected", [
    (NEW_YORK, "30 2 * * *", datetime(2026, 3, 7, 12, tzinfo=UTC),
     ["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"]),
    (BERLIN, "30 2 * * *", datetime(2026, 3, 28, 12, tzinfo=UTC),
     ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]),
    (NEW_YORK, "30 1 * * *", datetime(2026, 10, 31, 12, tzinfo=UTC),
     ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
    (BERLIN, "30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=UTC),
     ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
])
def test_a_daily_tick_in_a_skipped_or_repeated_hour_runs_once(zone, expression, before, expected):
    assert ticks(expression, zone, before, 2) == expected


def test_a_daily_schedule_keeps_local_midnight_across_the_change():
    assert ticks("@daily", BERLIN, datetime(2026, 3, 28, 12, tzinfo=UTC), 2) == [
        "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"]


def test_a_sixth_field_ticks_every_second():
    start = datetime(2026, 1, 1, 0, 0, 0, 400_000, tzinfo=UTC)
    assert next_tick("* * * * * *", UTC, after=start) == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_an_expression_that_never_fires_has_no_next_tick():
    assert next_tick("0 0 30 2 *", UTC, after=datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_after_downtime_only_the_latest_missed_tick_is_due():
    down_since = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime(2026, 1, 8, 0, 0, 30, tzinfo=UTC)  # a week of per-second ticks missed
    assert latest_tick("* * * * * *", UTC, at_or_before=now, after=down_since) == now
    assert latest_tick("@daily", NEW_YORK, at_or_before=now, after=down_since) == datetime(2026, 1, 7, 5, tzinfo=UTC)


def test_no_tick_is_due_when_none_came_since_the_cursor():
    now = datetime(2026, 1, 8, 12, tzinfo=UTC)
    assert latest_tick("@daily", UTC, at_or_before=now, after=datetime(2026, 1, 8, tzinfo=UTC)) is None


def test_a_tick_exactly_now_is_due():
    now = datetime(2026, 1, 8, tzinfo=UTC)
    assert latest_tick("@daily", UTC, at_or_before=now, after=datetime(2026, 1, 7, 12, tzinfo=UTC)) == now
