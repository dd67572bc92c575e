"""Directed acyclic graphs of named nodes: topological order, cycle and missing-dependency detection.

A graph is a mapping `node -> names it depends on`. Results are deterministic (ties broken by name) and
problems come back as a `Problem` value carrying a CamelCase reason and a message naming the nodes at fault.

Does not: know about assets, steps or Kubernetes (see `graph` for how a Run's step graph is built).
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Graph = Mapping[str, Iterable[str]]


@dataclass(frozen=True)
class Problem:
    """Why something cannot be planned. `transient` problems may go away by themselves (an object that is not
    created yet); the others need a change to a spec."""

    reason: str
    message: str
    transient: bool = False
    #: The object whose absence is the problem (MissingDependency), so a stale problem can be recognized.
    subject: str | None = None


def find_missing_dependencies(graph: Graph) -> Problem | None:
    """Report dependencies that are not nodes of the graph, or None when every dependency is a node."""
    missing = sorted((node, dep) for node, deps in graph.items() for dep in deps if dep not in graph)
    if not missing:
        return None
    listed = ", ".join(f"{node} depends on {dep}" for node, dep in missing)
    return Problem("MissingDependency", f"missing dependency: {listed}")


def find_cycle(graph: Graph) -> tuple[str, ...] | None:
    """Return one cycle as a path that starts and ends on the same node (a, b, a), or None.

    Dependencies that are not nodes are ignored. The cycle found is the first one met when visiting nodes and
    their dependencies in name order, so the answer is stable.
    """
    deps = {node: sorted(d for d in graph[node] if d in graph) for node in graph}
    done: set[str] = set()
    for start in sorted(deps):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        pending = [iter(deps[start])]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
            elif nxt in on_path:
                return (*path[path.index(nxt) :], nxt)
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                pending.append(iter(deps[nxt]))
    return None


def order_topologically(graph: Graph) -> tuple[str, ...] | Problem:
    """Order the nodes so that every node comes after its dependencies; among ready nodes, by name
    (`graphlib.TopologicalSorter`, fed one smallest ready node at a time).

    Returns a `Problem` (MissingDependency or DependencyCycle) when no such order exists.
    """
    missing = find_missing_dependencies(graph)
    if missing is not None:
        return missing
    ordered, blocked = order_topologically_partial(graph)
    if blocked:
        cycle = find_cycle({node: graph[node] for node in blocked}) or tuple(sorted(blocked))
        return Problem("DependencyCycle", "dependency cycle: " + " -> ".join(cycle))
    return ordered


def order_topologically_partial(graph: Graph) -> tuple[tuple[str, ...], frozenset[str]]:
    """(the nodes that can be ordered, in order; the nodes on or downstream of a cycle). Dependencies that are
    not nodes are ignored."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for node, deps in graph.items():
        sorter.add(node, *(dep for dep in deps if dep in graph))
    try:
        sorter.prepare()
    except graphlib.CycleError:
        return _order_around_cycles(graph)
    ready = list(sorter.get_ready())
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        sorter.done(node)
        for nxt in sorter.get_ready():
            heapq.heappush(ready, nxt)
    return tuple(order), frozenset()


def order_dependencies_first(graph: Graph) -> tuple[tuple[str, ...], frozenset[str]]:
    """Like `order_topologically_partial`, in some dependencies-first order (not by name): the fastest way to
    visit every node after its dependencies, for deriving facts over a whole namespace."""
    return _order_around_cycles(graph, by_name=False)


def _order_around_cycles(graph: Graph, *, by_name: bool = True) -> tuple[tuple[str, ...], frozenset[str]]:
    """Kahn's algorithm (graphlib refuses a cyclic graph): what remains is blocked by a cycle."""
    remaining = {node: {dep for dep in deps if dep in graph} for node, deps in graph.items()}
    dependents: dict[str, list[str]] = {node: [] for node in graph}
    for node, deps in remaining.items():
        for dep in deps:
            dependents[dep].append(node)
    ready = [node for node, deps in remaining.items() if not deps]
    pop, push = (heapq.heappop, heapq.heappush) if by_name else (list.pop, list.append)
    if by_name:
        heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = pop(ready)
        order.append(node)
        for child in dependents[node]:
            remaining[child].discard(node)
            if not remaining[child]:
                push(ready, child)
    return tuple(order), frozenset(graph) - frozenset(order)


def walk(roots: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    """Every node reachable from `roots` through `neighbours` (roots included)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(neighbours(node))
    return seen


def collect_upstream(graph: Graph, roots: Iterable[str]) -> set[str]:
    """Every node reachable from `roots` by following dependencies (roots included); unknown names kept."""
    return walk(roots, lambda node: graph.get(node, ()))
