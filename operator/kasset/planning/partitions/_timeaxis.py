"""The time dimension of a partition space: which windows of a grid are partitions at `now`, and their keys.

A window is a partition when it starts at or after `start`, ends at or before `end` and has ended by `now`
(Dagster's default: the window in progress is not a partition yet). Partitions are numbered from 0 (the first
window at or after `start`); key -> index parses the key and does arithmetic (a bisection for Cron), never a scan.

Does not: compute window boundaries (see `_grids`) or combine dimensions (see `_keyspace`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kasset.api.partitions import TimeWindowDimension, format_time_key, parse_time_key
from kasset.planning.partitions._grids import PartitionError, build_grid, to_instant

_STARTS = {
    "Hourly": "on the hour",
    "Daily": "at 00:00",
    "Weekly": "on Monday at 00:00",
    "Monthly": "on the 1st at 00:00",
}


def _a(cadence: str) -> str:
    return f"an {cadence}" if cadence == "Hourly" else f"a {cadence}"


class TimeAxis:
    """The windows of one time-window dimension that are partitions at `now`."""

    def __init__(self, name: str, dimension: TimeWindowDimension, *, now: datetime, max_windows: int):
        self.name, self.dimension = name, dimension
        self.zone = ZoneInfo(dimension.time_zone)
        self.format = dimension.key_format
        self._grid = build_grid(dimension, max_ticks=max_windows)
        self.start = to_instant(datetime.fromisoformat(dimension.start), self.zone)
        self.end = to_instant(datetime.fromisoformat(dimension.end), self.zone) if dimension.end else None
        self.limit = min(now, self.end) if self.end is not None else now
        first = self._grid.floor(self.start)
        self._origin = first if self._grid.bound(first) >= self.start else first + 1
        self.count = max(0, self._grid.floor(self.limit) - self._origin) if self.limit > self.start else 0
        if self.count > max_windows:
            raise PartitionError(f"dimension {name}: {self.count} windows, more than {max_windows}")
        self._keys: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return self.count

    def bound(self, index: int) -> datetime:
        """UTC start of window `index` (any integer: windows before start and after now too)."""
        return self._grid.bound(self._origin + index)

    def floor(self, instant: datetime) -> int:
        """Index of the window holding `instant` (any instant: negative before start, count or more after)."""
        return self._grid.floor(instant) - self._origin

    def first_at_or_after(self, instant: datetime) -> int:
        """Index of the first partition starting at or after `instant`, clipped to 0..count."""
        if instant <= self.start:
            return 0
        if instant >= self.limit:
            return self.count
        index = self.floor(instant)
        return min(self.count, index if self.bound(index) >= instant else index + 1)

    def overlapping(self, start: datetime, end: datetime) -> range:
        """Indexes of the partitions whose window overlaps [start, end)."""
        if end <= self.start or start >= self.limit:
            return range(0)
        first = max(0, self.floor(start))
        last = min(self.count - 1, self.floor(end - timedelta(microseconds=1)))
        return range(first, last + 1)

    def window(self, index: int) -> tuple[datetime, datetime]:
        """Window `index` as aware datetimes in the zone (convert to UTC before subtracting them)."""
        return self.bound(index).astimezone(self.zone), self.bound(index + 1).astimezone(self.zone)

    def key(self, index: int) -> str:
        return format_time_key(self.bound(index).astimezone(self.zone), self.format)

    def keys(self) -> tuple[str, ...]:
        if self._keys is None:
            self._keys = tuple(self.key(index) for index in range(self.count))
        return self._keys

    def index(self, key: str) -> int | None:
        """Index of partition `key`, or None when it is not one."""
        found = self._locate(key)
        return found if isinstance(found, int) else None

    def problem(self, key: str) -> str | None:
        """Why `key` is not a partition of this dimension, or None."""
        found = self._locate(key)
        return found if isinstance(found, str) else None

    def _locate(self, key: str) -> int | str:
        """The index of `key`, or a message saying why it is not a partition."""
        cadence = self.dimension.cadence
        try:
            parsed = parse_time_key(key, self.format)
        except ValueError:
            return f"not {_a(cadence)} key (format {self.format})"
        instant = to_instant(parsed, self.zone) if parsed.tzinfo is None else parsed.astimezone(self.start.tzinfo)
        if instant < self.start:
            return f"before start {self.dimension.start}"
        if self.end is not None and instant >= self.end:
            return f"at or after end {self.dimension.end}"
        if instant >= self.limit:
            return "its window has not ended yet"
        index = self.floor(instant)
        if self.bound(index) != instant:
            starts = _STARTS.get(cadence, f"on the ticks of cron {self.dimension.cron}")
            return f"{key} does not start {_a(cadence)} window (windows start {starts})"
        if index >= self.count:
            return self._unfinished(index)
        canonical = self.key(index)
        return index if canonical == key else f"not {_a(cadence)} key (format {self.format}): expected {canonical}"

    def _unfinished(self, index: int) -> str:
        ends = self.bound(index + 1)
        if self.end is not None and ends > self.end:
            return f"its window ends after end {self.dimension.end}"
        return f"its window has not ended yet (it ends {ends.astimezone(self.zone).isoformat()})"
