"""Which steps of a Run finished since its previous status: the moment their results are recorded elsewhere
(materializations, partition records, check results), exactly once per state change.

Does not: decide step states (see `steps`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kasset.api.run import StepStatus


def finished_since(
    graph: Any, statuses: Mapping[str, StepStatus], prior: Mapping[str, StepStatus], *,
    states: frozenset[str] = frozenset({"Succeeded", "Failed"}),
) -> Iterator[tuple[Any, StepStatus]]:
    """(node, status) of each step of `graph` that reached one of `states` since the `prior` status: what is
    recorded elsewhere (materializations, partition records, check results) exactly when it happens."""
    for node in graph.steps:
        step, was = statuses[node.name], prior.get(node.name)
        if step.state in states and (was is None or was.state != step.state):
            yield node, step
