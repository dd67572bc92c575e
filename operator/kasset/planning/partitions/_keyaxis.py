"""The static and dynamic dimensions of a partition space: an ordered list of keys with a key -> index map.

A dynamic dimension's keys are the manifest's, then the added ones (by the operator, from the steps' reported
`partitionKeys`) in the order given; repeats are dropped, and so are added keys that are not valid dimension
keys (check them with `check_dimension_key` before storing them).

Does not: enumerate time windows (see `_timeaxis`) or combine dimensions (see `_keyspace`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kasset.api.storage import path_escape_problem
from kasset.api.partitions import DIMENSION_KEY_MAX_LENGTH, DIMENSION_KEY_PATTERN

_VALID = re.compile(DIMENSION_KEY_PATTERN)
_SHOWN_KEYS = 5


def check_dimension_key(key: str) -> str | None:
    """Why `key` cannot be a static or dynamic key (empty, too long, with | or ,), or None."""
    if not key:
        return "a key cannot be empty"
    if len(key) > DIMENSION_KEY_MAX_LENGTH:
        return f"key {key[:40]!r}... is longer than {DIMENSION_KEY_MAX_LENGTH} characters"
    if not _VALID.match(key):
        return f"key {key!r} contains | or ,"
    return path_escape_problem(key)


class KeyAxis:
    """The keys of one static or dynamic dimension, in order."""

    def __init__(self, name: str, keys: Iterable[str], *, kind: str, added: Iterable[str] = ()):
        self.name, self.kind = name, kind
        ordered = dict.fromkeys(keys)
        ordered.update(dict.fromkeys(key for key in added if check_dimension_key(key) is None))
        self._keys = tuple(ordered)
        self._index = {key: index for index, key in enumerate(self._keys)}

    def __len__(self) -> int:
        return len(self._keys)

    def key(self, index: int) -> str:
        return self._keys[index]

    def keys(self) -> tuple[str, ...]:
        return self._keys

    def index(self, key: str) -> int | None:
        return self._index.get(key)

    def problem(self, key: str) -> str | None:
        """Why `key` is not a key of this dimension, or None."""
        if key in self._index:
            return None
        shown = ", ".join(self._keys[:_SHOWN_KEYS])
        more = f", ... {len(self._keys)} in all" if len(self._keys) > _SHOWN_KEYS else ""
        return f"unknown {self.kind} key {key!r} (keys: {shown or 'none yet'}{more})"
