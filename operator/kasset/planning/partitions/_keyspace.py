"""The partition space of a definition at a given time: every partition key, in order, and the questions asked
of a key (is it one? which index, which dimension keys, which time window?).

Order is dimension-major in declaration order (the first dimension varies slowest), time keys chronological,
static and dynamic keys as listed. A key's index is computed per dimension (arithmetic or a dict, a bisection
for Cron) and combined by mixed radix: no scan of the keys. The space is immutable; build a new one for another
`now` or other dynamic keys.

Does not: map keys between assets (see `_mapping`) or summarize states (see `_summary`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from functools import cached_property
from itertools import product
from math import prod
from types import MappingProxyType

from kasset.api.base import ensure_utc
from kasset.api.partitions import (
    KEY_SEPARATOR,
    PARTITION_KEY_MAX_LENGTH,
    PartitionDimension,
    PartitionsDefinition,
    longest_keys,
)
from kasset.planning.partitions._grids import PartitionError, to_instant
from kasset.planning.partitions._keyaxis import KeyAxis
from kasset.planning.partitions._timeaxis import TimeAxis

#: Most partitions a space holds; bounds the operator's work per reconcile (a minutely cron over years is an
#: error, not a wait).
MAX_PARTITIONS = 250_000

Axis = TimeAxis | KeyAxis
TimePoint = datetime | date | str
_NO_KEYS: Mapping[str, Sequence[str]] = MappingProxyType({})


def _build_axis(dimension: PartitionDimension, *, now: datetime, added: Sequence[str], room: int) -> Axis:
    """The axis of `dimension`; `room` is the longest added dynamic key that keeps keys within bounds."""
    if dimension.time_window is not None:
        return TimeAxis(dimension.name, dimension.time_window, now=now, max_windows=MAX_PARTITIONS)
    if dimension.static is not None:
        return KeyAxis(dimension.name, dimension.static.keys, kind="static")
    fitting = [key for key in added if len(key) <= room]
    return KeyAxis(dimension.name, dimension.dynamic.keys if dimension.dynamic else (), kind="dynamic", added=fitting)


class PartitionSpace:
    """The partitions of one definition at one time."""

    def __init__(self, definition: PartitionsDefinition, axes: Sequence[Axis]):
        self.definition = definition
        self.axes: tuple[Axis, ...] = tuple(axes)
        self.dimensions: tuple[str, ...] = tuple(axis.name for axis in self.axes)
        self._strides = tuple(prod(len(axis) for axis in self.axes[i + 1:]) for i in range(len(self.axes)))
        self._size = prod(len(axis) for axis in self.axes)
        if self._size > MAX_PARTITIONS:
            raise PartitionError(f"{self._size} partitions, more than {MAX_PARTITIONS}")

    @classmethod
    def from_definition(
        cls, definition: PartitionsDefinition, *, now: datetime, dynamic_keys: Mapping[str, Sequence[str]] = _NO_KEYS
    ) -> PartitionSpace:
        """The space of `definition` at `now`, with `dynamic_keys` (by dimension name) added to the manifest's
        (added keys that are invalid, or too long for partition keys to stay within PARTITION_KEY_MAX_LENGTH, are
        left out). Raises PartitionError when it would hold more than MAX_PARTITIONS partitions."""
        now, longest = ensure_utc(now), longest_keys(definition)
        spare = PARTITION_KEY_MAX_LENGTH - sum(longest.values()) - len(longest) + 1
        axes = [
            _build_axis(dim, now=now, added=dynamic_keys.get(dim.name, ()), room=longest[dim.name] + spare)
            for dim in definition.dimensions
        ]
        return cls(definition, axes)

    @property
    def time_axis(self) -> TimeAxis | None:
        return next((axis for axis in self.axes if isinstance(axis, TimeAxis)), None)

    @property
    def time_dimension(self) -> str | None:
        """Name of the time-window dimension, if any."""
        axis = self.time_axis
        return axis.name if axis is not None else None

    def axis(self, name: str) -> Axis:
        return self.axes[self.dimensions.index(name)]

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.locate(key) is not None

    def contains(self, key: str) -> bool:
        return key in self

    @cached_property
    def _keys(self) -> tuple[str, ...]:
        if len(self.axes) == 1:
            return self.axes[0].keys()
        return tuple(KEY_SEPARATOR.join(parts) for parts in product(*(axis.keys() for axis in self.axes)))

    def keys(self) -> Sequence[str]:
        """Every key, in order."""
        return self._keys

    def key_at(self, index: int) -> str:
        return self.join_indexes([(index // stride) % len(axis) for axis, stride in zip(self.axes, self._strides)])

    def join_indexes(self, indexes: Sequence[int]) -> str:
        """The key of one index per dimension."""
        return KEY_SEPARATOR.join(axis.key(i) for axis, i in zip(self.axes, indexes))

    def split(self, key: str) -> dict[str, str]:
        """The dimension keys of `key`, by dimension name. Raises ValueError when the number of parts is wrong."""
        parts = key.split(KEY_SEPARATOR)
        if len(parts) != len(self.axes):
            raise ValueError(self._count_problem(key, parts))
        return dict(zip(self.dimensions, parts))

    def locate(self, key: str) -> tuple[int, ...] | None:
        """The index of `key` in each dimension, or None when it is not a partition."""
        parts = key.split(KEY_SEPARATOR)
        if len(parts) != len(self.axes):
            return None
        indexes = tuple(axis.index(part) for axis, part in zip(self.axes, parts))
        return None if any(index is None for index in indexes) else indexes

    def index_of(self, key: str) -> int:
        """Position of `key` in `keys()`. Raises ValueError (with validate_key's message) when it is not one."""
        indexes = self.locate(key)
        if indexes is None:
            raise ValueError(self.validate_key(key))
        return sum(i * stride for i, stride in zip(indexes, self._strides))

    def validate_key(self, key: str) -> str | None:
        """Why `key` is not a partition, naming the dimension and the problem, or None when it is one."""
        if len(key) > PARTITION_KEY_MAX_LENGTH:
            return f"partition {key[:40]!r}...: longer than {PARTITION_KEY_MAX_LENGTH} characters"
        parts = key.split(KEY_SEPARATOR)
        if len(parts) != len(self.axes):
            return self._count_problem(key, parts)
        for axis, part in zip(self.axes, parts):
            problem = axis.problem(part)
            if problem is not None:
                return f'partition "{key}": dimension {axis.name}: {problem}'
        return None

    def _count_problem(self, key: str, parts: Sequence[str]) -> str:
        expected = KEY_SEPARATOR.join(self.dimensions)
        return f'partition "{key}": has {len(parts)} dimension keys, expected {len(self.axes)} ({expected})'

    def window(self, key: str) -> tuple[datetime, datetime] | None:
        """The time window of `key` (aware, in the dimension's zone), or None without a time dimension.
        Raises ValueError when `key` is not a partition."""
        axis = self.time_axis
        if axis is None:
            return None
        indexes = self.locate(key)
        if indexes is None:
            raise ValueError(self.validate_key(key))
        return axis.window(indexes[self.axes.index(axis)])

    def keys_in_range(self, first: str, last: str) -> Sequence[str]:
        """The keys from `first` to `last`, both included, in order (empty when `last` comes before `first`).
        Raises ValueError when either is not a partition."""
        return self._keys[self.index_of(first): self.index_of(last) + 1]

    def keys_between(self, start: TimePoint, end: TimePoint) -> list[str]:
        """The keys whose window starts in [start, end), every key of the other dimensions, in order. A naive
        datetime, a date or an ISO string without offset is local time in the dimension's zone."""
        axis = self.time_axis
        if axis is None:
            raise ValueError("keys_between needs a time-window dimension; this definition has none")
        first = axis.first_at_or_after(self._instant(start, axis))
        stop = axis.first_at_or_after(self._instant(end, axis))
        ranges = [range(first, stop) if other is axis else range(len(other)) for other in self.axes]
        return [self.join_indexes(indexes) for indexes in product(*ranges)]

    @staticmethod
    def _instant(point: TimePoint, axis: TimeAxis) -> datetime:
        if isinstance(point, str):
            point = datetime.fromisoformat(point.replace(" ", "T"))
        if not isinstance(point, datetime):
            point = datetime(point.year, point.month, point.day)
        if point.tzinfo is None:
            return to_instant(point, axis.zone)
        return point.astimezone(timezone.utc)
