"""Cron ticks in a time zone, DST-correct: croniter reads the expression over local wall-clock times, and each
local time becomes one instant.

- A wall-clock time that DST skips (02:30 on the spring-forward night in New York) becomes the instant after
  the gap (03:30 EDT): the tick runs once. When that instant is also the next tick's (hourly: 02:00 → 03:00 EDT
  and 03:00), it is one tick, not two.
- A wall-clock time that DST repeats (01:30 on the fall-back night) is the first of its two instants: the tick
  runs once, in the first pass.

Instants are UTC `datetime`s; `after` and `at_or_before` bound the search, so the work per call is a few
croniter steps whatever the downtime: the latest missed tick is found backwards, never by walking every tick.

Does not: decide what a tick does (see `schedule`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

UTC = timezone.utc
#: croniter steps one call may take: every step past the first few is a DST duplicate or a gap.
MAX_STEPS = 64
#: How far either side of an instant to look for a DST transition (no zone shifts by more).
DST_WINDOW = timedelta(hours=3)


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant of the naive wall-clock time `local` in `zone`: the first pass of a repeated time, and for a
    skipped one the instant after the gap (zoneinfo's fold=0 reads it with the offset before the transition)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _shift(instant: datetime, zone: ZoneInfo) -> timedelta:
    """How far the zone's offset moves within DST_WINDOW of `instant` (zero away from transitions)."""
    offsets = [(instant + d).astimezone(zone).utcoffset() for d in (-DST_WINDOW, timedelta(0), DST_WINDOW)]
    return max(offsets) - min(offsets)


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def next_tick(expression: str, zone: ZoneInfo, *, after: datetime) -> datetime | None:
    """The first tick strictly after `after`; None when the expression never fires (e.g. February 30th)."""
    start = _local(after, zone) - _shift(after, zone)
    ticks = croniter(expression, start)
    try:
        for _ in range(MAX_STEPS):
            instant = to_instant(ticks.get_next(datetime), zone)
            if instant > after:
                return instant
    except CroniterBadDateError:
        return None
    return None


def latest_tick(expression: str, zone: ZoneInfo, *, at_or_before: datetime, after: datetime) -> datetime | None:
    """The latest tick in (`after`, `at_or_before`], or None: after downtime, the one catch-up tick."""
    start = _local(at_or_before, zone) + _shift(at_or_before, zone) + timedelta(microseconds=1)
    ticks = croniter(expression, start)
    try:
        for _ in range(MAX_STEPS):
            instant = to_instant(ticks.get_prev(datetime), zone)
            if instant <= after:
                return None
            if instant <= at_or_before:
                return instant
    except CroniterBadDateError:
        return None
    return None
