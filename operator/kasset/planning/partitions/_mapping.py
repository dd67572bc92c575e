"""Partition mappings: which upstream partitions a downstream partition reads, and the reverse.

A mapping resolves to links, one per upstream dimension it constrains (downstream dimension -> upstream
dimension, by Identity, TimeWindow, Offset or AllPartitions); an upstream dimension without a link reads all its
keys, a downstream dimension without one does not matter. The resolution of each type:
- Identity: two one-dimension definitions link their sole dimensions; otherwise every upstream dimension links
  the downstream dimension of the same name (a [date, region] asset reads its date of a [date] upstream).
- TimeWindow / Offset: the time dimensions link (windows overlapping, each in its own zone, shifted by `offset`
  upstream windows for Offset); the other upstream dimensions link by name, as Identity.
- PerDimension: the listed links; AllPartitions: every upstream key; Unpartitioned: none (no keys to name).
Time windows of the same grid under Identity map window to window, whatever their start or key format.

Does not: know the assets' names (the caller prefixes messages with the dependency) or read records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import product

from kasset.api.partitions import PartitionDimension, PartitionMapping, PartitionsDefinition
from kasset.planning.partitions._keyspace import PartitionSpace
from kasset.planning.partitions._timeaxis import TimeAxis

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Link:
    """One downstream dimension read through one upstream dimension."""

    down: str
    up: str
    type: str
    offset: int = 0


def default_mapping(downstream: PartitionsDefinition | None, upstream: PartitionsDefinition | None) -> str:
    """The mapping type when a dependency declares none: Unpartitioned for an unpartitioned upstream,
    AllPartitions for an unpartitioned downstream, TimeWindow between time windows of different cadence, cron
    or time zone, else Identity."""
    if upstream is None:
        return "Unpartitioned"
    if downstream is None:
        return "AllPartitions"
    mine, theirs = _time_dimension(downstream), _time_dimension(upstream)
    if mine is not None and theirs is not None and _grid(mine) != _grid(theirs):
        return "TimeWindow"
    return "Identity"


def check_mapping(
    mapping: PartitionMapping | None, *, downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
) -> str | None:
    """Why `mapping` cannot map `downstream`'s partitions onto `upstream`'s (a message for a condition), or
    None when it can."""
    found = resolve_mapping(mapping, downstream=downstream, upstream=upstream)
    return found if isinstance(found, str) else None


def resolve_mapping(
    mapping: PartitionMapping | None, *, downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
) -> tuple[str, list[Link]] | str:
    """The mapping type in force and its links, or the message saying why it does not apply."""
    kind = mapping.type if mapping is not None and mapping.type is not None else default_mapping(downstream, upstream)
    if kind == "Unpartitioned":
        return (kind, []) if upstream is None else "the upstream is partitioned: Unpartitioned reads an " \
            "upstream without partitions (AllPartitions reads all of them)"
    if upstream is None:
        return f"the upstream has no partitions: {kind} does not apply (Unpartitioned does)"
    if kind == "AllPartitions":
        return kind, []
    if downstream is None:
        return f"the downstream has no partitions: {kind} does not apply (AllPartitions does)"
    if kind == "PerDimension":
        links = _listed_links(mapping, downstream=downstream, upstream=upstream)
    else:
        links = _implied_links(kind, mapping.offset if mapping is not None else 0, downstream, upstream)
    if isinstance(links, str):
        return links
    problems = (_link_problem(link, downstream=downstream, upstream=upstream) for link in links)
    return next((problem for problem in problems if problem), None) or (kind, links)


def _implied_links(
    kind: str, offset: int, downstream: PartitionsDefinition, upstream: PartitionsDefinition
) -> list[Link] | str:
    links: list[Link] = []
    if kind in ("TimeWindow", "Offset"):
        mine, theirs = _time_dimension(downstream), _time_dimension(upstream)
        if mine is None or theirs is None:
            side = "downstream" if mine is None else "upstream"
            return f"{kind} maps time windows, and the {side} has no timeWindow dimension"
        links.append(Link(mine.name, theirs.name, kind, offset if kind == "Offset" else 0))
    linked = {link.up for link in links}
    sole = len(downstream.dimensions) == len(upstream.dimensions) == 1
    names = [dim.name for dim in downstream.dimensions]
    for dim in upstream.dimensions:
        if dim.name in linked:
            continue
        if not sole and dim.name not in names:
            return f"upstream dimension {dim.name} has no downstream dimension of that name ({', '.join(names)}); " \
                   "use PerDimension"
        links.append(Link(names[0] if sole else dim.name, dim.name, "Identity"))
    return links


def _listed_links(
    mapping: PartitionMapping, *, downstream: PartitionsDefinition, upstream: PartitionsDefinition
) -> list[Link] | str:
    down_names = [dim.name for dim in downstream.dimensions]
    up_names = [dim.name for dim in upstream.dimensions]
    links = [Link(dm.name, dm.upstream_dimension or dm.name, dm.type, dm.offset) for dm in mapping.dimensions]
    for link in links:
        if link.down not in down_names:
            return f"dimensions: {link.down} is not a downstream dimension ({', '.join(down_names)})"
        if link.up not in up_names:
            return f"dimensions: {link.down} maps to {link.up}, not an upstream dimension ({', '.join(up_names)})"
    ups = [link.up for link in links]
    repeated = sorted({up for up in ups if ups.count(up) > 1})
    if repeated:
        return f"dimensions: upstream dimension {repeated[0]} is mapped more than once"
    return links


def _link_problem(link: Link, *, downstream: PartitionsDefinition, upstream: PartitionsDefinition) -> str | None:
    mine, theirs = _dimension(downstream, link.down), _dimension(upstream, link.up)
    where = f"dimension {link.down}" if link.down == link.up else f"dimension {link.down} -> {link.up}"
    if link.type == "AllPartitions":
        return None
    if link.type in ("TimeWindow", "Offset"):
        if mine.time_window is None or theirs.time_window is None:
            return f"{where}: {link.type} maps time windows, not {_kind(mine)} to {_kind(theirs)} keys"
        return None
    if mine.time_window is not None and theirs.time_window is not None:
        if _grid(mine) != _grid(theirs):
            return f"{where}: Identity between {_describe(mine)} and {_describe(theirs)} windows; use TimeWindow"
        return None
    if (mine.time_window is None) != (theirs.time_window is None):
        return f"{where}: Identity between {_kind(mine)} and {_kind(theirs)} keys"
    if mine.static is not None and theirs.static is not None:
        lacking = [key for key in mine.static.keys if key not in set(theirs.static.keys)]
        if lacking:
            shown = ", ".join(lacking[:5]) + (", ..." if len(lacking) > 5 else "")
            return f"{where}: Identity between different static keys: {shown} not in the upstream's keys"
    return None


def upstream_keys(
    mapping: PartitionMapping | None, *, downstream: PartitionSpace | None, key: str | None,
    upstream: PartitionSpace | None,
) -> list[str]:
    """The upstream partitions that partition `key` of `downstream` reads, in upstream order (`downstream` and
    `key` None: an unpartitioned asset). Empty for an unpartitioned upstream, whose single materialization is
    read. Raises ValueError with check_mapping's message, or when `key` is not a downstream partition."""
    if upstream is None:
        return []
    kind, links = _resolved(mapping, downstream, upstream)
    if kind == "AllPartitions":
        return list(upstream.keys())
    indexes = _locate(downstream, key)
    by_up = {link.up: link for link in links}
    choices = [
        _read(by_up[axis.name], downstream, indexes, upstream) if axis.name in by_up else range(len(axis))
        for axis in upstream.axes
    ]
    return [upstream.join_indexes(combination) for combination in product(*choices)]


def downstream_keys(
    mapping: PartitionMapping | None, *, upstream: PartitionSpace, key: str, downstream: PartitionSpace | None
) -> list[str]:
    """The downstream partitions that read partition `key` of `upstream`, in downstream order. Empty for an
    unpartitioned downstream (which, as a whole, reads whatever its mapping names). Raises ValueError as
    upstream_keys does."""
    if downstream is None:
        return []
    kind, links = _resolved(mapping, downstream, upstream)
    if kind == "AllPartitions":
        return list(downstream.keys())
    indexes = _locate(upstream, key)
    by_down = {link.down: link for link in links}
    choices = [
        _readers(by_down[axis.name], upstream, indexes, downstream) if axis.name in by_down else range(len(axis))
        for axis in downstream.axes
    ]
    return [downstream.join_indexes(combination) for combination in product(*choices)]


def _resolved(
    mapping: PartitionMapping | None, downstream: PartitionSpace | None, upstream: PartitionSpace
) -> tuple[str, list[Link]]:
    found = resolve_mapping(
        mapping, downstream=downstream.definition if downstream is not None else None, upstream=upstream.definition
    )
    if isinstance(found, str):
        raise ValueError(found)
    return found


def _locate(space: PartitionSpace | None, key: str | None) -> tuple[int, ...]:
    indexes = space.locate(key) if space is not None and key is not None else None
    if indexes is None:
        raise ValueError(space.validate_key(key) if space is not None and key is not None else "no partition key")
    return indexes


def _read(link: Link, downstream: PartitionSpace, indexes: tuple[int, ...], upstream: PartitionSpace) -> range:
    """Indexes of the upstream dimension `link.up` read by downstream index `indexes`."""
    mine, theirs = downstream.axis(link.down), upstream.axis(link.up)
    index = indexes[downstream.dimensions.index(link.down)]
    if link.type == "AllPartitions":
        return range(len(theirs))
    if not isinstance(mine, TimeAxis) or not isinstance(theirs, TimeAxis):
        found = theirs.index(mine.key(index))
        return range(found, found + 1) if found is not None else range(0)
    start, end = mine.bound(index), mine.bound(index + 1)
    if not link.offset:
        return theirs.overlapping(start, end)
    first, last = theirs.floor(start) + link.offset, theirs.floor(end - _TICK) + link.offset
    return range(max(first, 0), min(last, theirs.count - 1) + 1)


def _readers(link: Link, upstream: PartitionSpace, indexes: tuple[int, ...], downstream: PartitionSpace) -> range:
    """Indexes of the downstream dimension `link.down` that read upstream index `indexes`."""
    mine, theirs = downstream.axis(link.down), upstream.axis(link.up)
    index = indexes[upstream.dimensions.index(link.up)]
    if link.type == "AllPartitions":
        return range(len(mine))
    if not isinstance(mine, TimeAxis) or not isinstance(theirs, TimeAxis):
        found = mine.index(theirs.key(index))
        return range(found, found + 1) if found is not None else range(0)
    shifted = index - link.offset
    return mine.overlapping(theirs.bound(shifted), theirs.bound(shifted + 1))


def _time_dimension(definition: PartitionsDefinition) -> PartitionDimension | None:
    return next((dim for dim in definition.dimensions if dim.time_window is not None), None)


def _dimension(definition: PartitionsDefinition, name: str) -> PartitionDimension:
    return next(dim for dim in definition.dimensions if dim.name == name)


def _grid(dimension: PartitionDimension) -> tuple[str, str | None, str]:
    window = dimension.time_window
    return (window.cadence, window.cron, window.time_zone) if window is not None else ("", None, "")


def _describe(dimension: PartitionDimension) -> str:
    cadence, cron, zone = _grid(dimension)
    return f"{cadence}{f' {cron}' if cron else ''} ({zone})"


def _kind(dimension: PartitionDimension) -> str:
    if dimension.time_window is not None:
        return "time-window"
    return "static" if dimension.static is not None else "dynamic"
