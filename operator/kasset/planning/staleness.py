"""Decide whether an asset is stale, and why.

An asset is stale when it was never materialized, when its codeVersion changed since, or when an upstream
asset holds data other than what the last materialization consumed: a different dataVersion when both sides
know one, else a different run; or when an upstream is itself stale (staleness is transitive: bumping a
codeVersion makes everything downstream stale, each naming the upstream it comes through). Lineage entries of
another partition are not compared (a new partition upstream makes the downstream partition missing, not stale).

Does not: write conditions (see `assets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kasset.api.asset import MAX_STALE_REASONS, Asset, LineageEntry, Materialization

#: Reasons by priority; the Stale condition carries the first that applies.
REASON_ORDER = ("NeverMaterialized", "CodeVersionChanged", "UpstreamChanged", "UpstreamStale")


@dataclass(frozen=True)
class Staleness:
    """`reason` is a CamelCase condition reason (UpToDate when not stale); `reasons` are lines for status."""

    stale: bool
    reason: str
    reasons: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "materialized from the current upstream data and code"


def assess_staleness(
    asset: Asset, assets: Mapping[str, Asset], *, stale_upstreams: Iterable[tuple[str, Staleness]] = ()
) -> Staleness:
    """Judge `asset` against its upstream Assets (`assets`: at least its direct upstreams by name) and the
    upstreams known to be stale themselves (`stale_upstreams`: name and its staleness)."""
    last = asset.status.last_materialization
    found: list[tuple[str, str]] = []
    if last is None:
        found.append(("NeverMaterialized", "never materialized"))
    for name, upstream_staleness in stale_upstreams:
        found.append(("UpstreamStale", f"upstream {name} is stale ({upstream_staleness.reason})"))
    if last is None:
        return _verdict(found)
    if asset.spec.code_version != last.code_version:
        line = f"codeVersion changed from {last.code_version} to {asset.spec.code_version}"
        found.append(("CodeVersionChanged", line))
    consumed = {entry.asset: entry for entry in last.lineage}
    for dep in asset.spec.deps:
        upstream = assets.get(dep.asset)
        current = upstream.status.last_materialization if upstream is not None else None
        line = compare_upstream(dep.asset, consumed.get(dep.asset), current)
        if line is not None:
            found.append(("UpstreamChanged", line))
    return _verdict(found)


def _verdict(found: list[tuple[str, str]]) -> Staleness:
    if not found:
        return Staleness(False, "UpToDate")
    found.sort(key=lambda pair: REASON_ORDER.index(pair[0]))
    lines = [line for _, line in found]
    if len(lines) > MAX_STALE_REASONS:
        extra = len(lines) - MAX_STALE_REASONS + 1
        lines = lines[: MAX_STALE_REASONS - 1] + [f"and {extra} more"]
    return Staleness(True, found[0][0], tuple(lines))


def compare_upstream(name: str, consumed: LineageEntry | None, current: Materialization | None) -> str | None:
    """A line saying how upstream `name` moved on since it was consumed, or None when it did not."""
    if current is None:
        return None
    if consumed is None or consumed.run is None:
        return f"upstream {name} was materialized by run {current.run} but not consumed"
    if consumed.partition != current.partition:
        return None
    if consumed.data_version and current.data_version:
        if consumed.data_version == current.data_version:
            return None
        return (
            f"upstream {name} has dataVersion {current.data_version} (run {current.run}); "
            f"consumed {consumed.data_version} (run {consumed.run})"
        )
    if consumed.run == current.run:
        return None
    return f"upstream {name} was materialized by run {current.run}; consumed run {consumed.run}"
