"""Time grids: the boundaries of consecutive time windows of one cadence in one time zone, as UTC instants.

A grid numbers its windows with global ordinals `n`; `bound(n)` is the instant window `n` starts (and window
`n - 1` ends), `floor(instant)` the ordinal of the window holding an instant. Boundaries are strictly increasing,
so windows tile the timeline without gap or overlap.

DST, as decided here:
- Daily, Weekly and Monthly windows start at local 00:00 (Weekly on Monday, Monthly on the 1st). A local time
  repeated by a DST change is taken at its first occurrence; a local midnight skipped by a change (America/
  Santiago, Asia/Beirut...) resolves to the end of the gap, so that day starts at 01:00. A Berlin day is 23
  hours long on the spring-forward date and 25 on the fall-back one.
- Hourly windows are whole hours of absolute time, aligned on local hours: 23 on a spring-forward day, 25 on a
  fall-back day (its repeated hour gives two windows). The one zone whose DST shift is 30 minutes
  (Australia/Lord_Howe) sees its hourly windows on the half hour after a change.
- Cron ticks are computed by croniter on naive local times: a tick in a skipped hour does not happen, a tick
  in a repeated hour happens once, at its first occurrence (so keys without an offset stay unique).

Does not: know which windows are partitions (start, end, now: see `_timeaxis`) or format keys.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

from kasset.api.partitions import TimeWindowDimension

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


class PartitionError(ValueError):
    """A definition that cannot be turned into a partition space (too many partitions); the message says why."""


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of naive local time `local` in `zone`: a repeated time's first occurrence; a skipped
    time's instant after the gap (exact for a time at the start of the gap)."""
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def exists_locally(local: datetime, zone: ZoneInfo) -> bool:
    """False when a DST change skips the naive local time `local` in `zone`."""
    return to_instant(local, zone).astimezone(zone).replace(tzinfo=None) == local


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local time of `instant` in `zone`."""
    return instant.astimezone(zone).replace(tzinfo=None)


class CalendarGrid:
    """Daily, Weekly or Monthly windows from local midnight, numbered by a calendar ordinal."""

    def __init__(self, zone: ZoneInfo, *, ordinal: Callable[[datetime], int], start: Callable[[int], datetime]):
        self.zone, self._ordinal, self._start = zone, ordinal, start

    def bound(self, n: int) -> datetime:
        return to_instant(self._start(n), self.zone)

    def floor(self, instant: datetime) -> int:
        n = self._ordinal(to_local(instant, self.zone))
        return n if self.bound(n) <= instant else n - 1


def _months(local: datetime) -> int:
    return local.year * 12 + local.month - 1


def _month_start(n: int) -> datetime:
    return datetime(n // 12, n % 12 + 1, 1)


def _weeks(local: datetime) -> int:
    return (local.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday


def _week_start(n: int) -> datetime:
    return datetime.fromordinal(n * 7 + 1)


CALENDARS: dict[str, tuple[Callable[[datetime], int], Callable[[int], datetime]]] = {
    "Daily": (datetime.toordinal, datetime.fromordinal),
    "Weekly": (_weeks, _week_start),
    "Monthly": (_months, _month_start),
}


class HourlyGrid:
    """Whole hours of absolute time, shifted to start on local hours (zones at +05:30 start at :30 UTC)."""

    def __init__(self, shift_seconds: int):
        self._shift = timedelta(seconds=shift_seconds)

    def bound(self, n: int) -> datetime:
        return EPOCH + n * HOUR - self._shift

    def floor(self, instant: datetime) -> int:
        return (instant - EPOCH + self._shift) // HOUR


class CronGrid:
    """Windows between consecutive cron ticks; ordinal 0 is the first tick at or after `anchor` (naive local).

    Ticks are loaded a matching day at a time (croniter finds the days, the hour and minute fields give the times
    of a day), in both directions, and kept: at most `max_ticks` of them (PartitionError beyond: callers avoid
    asking about instants far from the partitions)."""

    def __init__(self, expression: str, zone: ZoneInfo, *, anchor: datetime, max_ticks: int):
        self.zone, self._expression, self._max = zone, expression, max_ticks
        self._times = _clock_times(expression)
        self._days = "0 0 " + " ".join(expression.split()[2:])
        first_day = self._next_day(anchor.date() - timedelta(days=1), forward=True)
        self._ticks, self._span = self._ticks_of(first_day), [first_day, first_day]
        start = to_instant(anchor, zone)
        while self._ticks[-1] < start:
            self._extend(forward=True)
        self._first = -bisect_left(self._ticks, start)  # ordinal of self._ticks[0]

    def bound(self, n: int) -> datetime:
        while n < self._first:
            self._extend(forward=False)
        while n >= self._first + len(self._ticks):
            self._extend(forward=True)
        return self._ticks[n - self._first]

    def floor(self, instant: datetime) -> int:
        while self._ticks[0] > instant:
            self._extend(forward=False)
        while self._ticks[-1] <= instant:
            self._extend(forward=True)
        return self._first + bisect_right(self._ticks, instant) - 1

    def _extend(self, *, forward: bool) -> None:
        if len(self._ticks) > self._max + 2:  # a partition needs its tick and the next one
            raise PartitionError(f"cron {self._expression!r} gives more than {self._max} windows")
        ticks: list[datetime] = []
        while not ticks:
            day = self._next_day(self._span[1] if forward else self._span[0], forward=forward)
            self._span[1 if forward else 0] = day
            ticks = self._ticks_of(day)
        if forward:
            self._ticks.extend(ticks)
        else:
            self._ticks[:0] = ticks
            self._first -= len(ticks)

    def _next_day(self, day: date, *, forward: bool) -> date:
        """The next (or previous) day after `day` on which the cron fires."""
        days = croniter(self._days, datetime.combine(day, time()))
        return (days.get_next(datetime) if forward else days.get_prev(datetime)).date()

    def _ticks_of(self, day: date) -> list[datetime]:
        """The ticks of local `day` that exist, as UTC instants (a repeated time at its first occurrence)."""
        midnight = datetime.combine(day, time())
        locals_ = [midnight + clock for clock in self._times]
        offset = midnight.replace(tzinfo=self.zone).utcoffset()
        if offset == (midnight + timedelta(days=1)).replace(tzinfo=self.zone).utcoffset():  # no DST change
            return [(local - offset).replace(tzinfo=timezone.utc) for local in locals_]
        return [to_instant(local, self.zone) for local in locals_ if exists_locally(local, self.zone)]


def _clock_times(expression: str) -> list[timedelta]:
    """The times of day of a cron expression's ticks (its hour and minute fields), in order."""
    minutes, hours = croniter(expression).expanded[:2]
    minutes = range(60) if minutes == ["*"] else minutes
    hours = range(24) if hours == ["*"] else hours
    return [timedelta(hours=hour, minutes=minute) for hour in hours for minute in minutes]


def build_grid(dimension: TimeWindowDimension, *, max_ticks: int) -> CalendarGrid | HourlyGrid | CronGrid:
    """The grid of `dimension`'s cadence in its time zone."""
    zone = ZoneInfo(dimension.time_zone)
    start = datetime.fromisoformat(dimension.start)
    if dimension.cadence == "Cron":
        return CronGrid(dimension.cron or "", zone, anchor=start, max_ticks=max_ticks)
    if dimension.cadence == "Hourly":
        offset = to_instant(start, zone).astimezone(zone).utcoffset() or timedelta(0)
        return HourlyGrid(int(offset.total_seconds()) % 3600)
    ordinal, first = CALENDARS[dimension.cadence]
    return CalendarGrid(zone, ordinal=ordinal, start=first)
