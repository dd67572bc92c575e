"""Benchmark figures: what a benchmark measured, the goal it is held to, and the session's collection of them.

A `Figure` is one row of `docs/benchmarks.md`: a headline `value` (the number the goal is about: a p99, a rate,
a size), the raw `samples` behind it (median and p95 are computed from them), and, where the benchmark has
one, a `baseline` measured in the same session on the same cluster with the `ratio` between the two. The
ratio is always "Kasset's speed relative to the baseline's": a rate divided by the baseline's rate, or the
baseline's time divided by Kasset's; 1.0 is as fast, above 1.0 faster.

`GOALS` is the issue's table, in its order; benches look their goal up by key, and the report shows a goal
that no session has measured yet as "not measured".

`BenchResults` collects the figures of one pytest session and writes them at its end, merged with the
figures in the existing `bench/results/latest.json` (a partial run, `-k chain`, replaces only its own
figures), then renders the Markdown table and the latency plot (`benchreport`).

Does not: measure anything, or decide what a benchmark does.
"""

from __future__ import annotations

import datetime
import json
import math
import operator
import statistics
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OPERATORS = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Check:
    """One comparison of a goal: `metric` (value, ratio, median, p95, p99) `op` `limit`."""

    metric: str
    op: str
    limit: float

    def holds(self, metrics: dict[str, float | None]) -> bool:
        measured = metrics.get(self.metric)
        return measured is not None and OPERATORS[self.op](measured, self.limit)


@dataclass(frozen=True)
class Goal:
    benchmark: str
    text: str
    checks: tuple[Check, ...]


GOALS: dict[str, Goal] = {
    "chain-handoff": Goal(
        "Upstream step done → downstream step Job created, 20-step chain", "p99 ≤ 1 s",
        (Check("p99", "<=", 1.0),)),
    "run-throughput": Goal(
        "Run launch throughput, 1,000 one-step Runs created at once", "≥ 20 Runs/s and ≥ 0.8 × direct batch Jobs",
        (Check("value", ">=", 20.0), Check("ratio", ">=", 0.8))),
    "fanout": Goal(
        "10,000-item fan-out: all pods created, Run Succeeded", "≥ 0.8 × one Indexed Job created directly",
        (Check("ratio", ">=", 0.8),)),
    "assets-rss": Goal(
        "Operator RSS with 10,000 Assets (10 layers), peak", "≤ 256 MiB", (Check("value", "<=", 256.0),)),
    "assets-status": Goal(
        "10,000 Assets (10 layers) created → every Asset has status", "≤ 60 s", (Check("value", "<=", 60.0),)),
    "closure-run-launch": Goal(
        "A Run over a 1,000-Asset upstream closure while 10,000 Assets exist: Run created → first step Job",
        "≤ 1 s (p95)", (Check("p95", "<=", 1.0),)),
    "planning": Goal(
        "Planning 10,000 Assets / 30,000 edges (in process)", "≤ 200 ms (p95)", (Check("p95", "<=", 0.2),)),
    "largest-object": Goal(
        "Largest object written (10,000 steps in history / 500-step Run, worst case)", "≤ 256 KiB",
        (Check("value", "<=", 256.0),)),
    "partition-status": Goal(
        "Asset status with 10,000 daily × 2 static partitions (worst case: states alternate)", "≤ 256 KiB",
        (Check("value", "<=", 256.0),)),
    "api-writes-per-step": Goal(
        "API writes per step (from the API server's own request metrics)", "≤ 4", (Check("value", "<=", 4.0),)),
}


def percentile(samples: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..1): a value that was measured, never an interpolation."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def describe(samples: list[float]) -> dict[str, float | None]:
    """n, median, p95, p99, min and max of `samples` (None where there are none)."""
    if not samples:
        return {"n": 0, "median": None, "p95": None, "p99": None, "min": None, "max": None}
    return {"n": len(samples), "median": statistics.median(samples), "p95": percentile(samples, 0.95),
            "p99": percentile(samples, 0.99), "min": min(samples), "max": max(samples)}


@dataclass
class Baseline:
    """What Kasset is compared with: another figure of the same session (its key) and its headline value."""

    key: str
    benchmark: str
    value: float
    unit: str

    @classmethod
    def of(cls, figure: Figure) -> Baseline:
        return cls(key=figure.key, benchmark=figure.benchmark, value=figure.value, unit=figure.unit)


@dataclass
class Figure:
    """One measured figure: its headline `value` (in `unit`) and the `samples` (in `sample_unit`) behind it."""

    key: str
    value: float | None
    unit: str
    benchmark: str = ""
    samples: list[float] = field(default_factory=list)
    sample_unit: str = "s"
    baseline: Baseline | None = None
    ratio: float | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    #: the measured size over the goal's size (1 = the goal's; None: the session's KASSET_BENCH_SCALE)
    scale: float | None = None
    goal: Goal | None = None
    session: str = ""
    measured_at: str = ""

    @property
    def stats(self) -> dict[str, float | None]:
        return describe(self.samples)

    @property
    def metrics(self) -> dict[str, float | None]:
        return {**self.stats, "value": self.value, "ratio": self.ratio}

    @property
    def goal_met(self) -> bool | None:
        """True when every check of the goal holds; None when the figure has no goal."""
        if self.goal is None:
            return None
        return all(check.holds(self.metrics) for check in self.goal.checks)

    def failed_checks(self) -> list[str]:
        """The checks of the goal that do not hold, e.g. `value 14.9 Runs/s, goal >= 20`."""
        metrics = self.metrics
        unit = {"value": f" {self.unit}"}
        return [f"{self.key}: {c.metric} {fmt(metrics.get(c.metric))}{unit.get(c.metric, '')}, goal {c.op} {c.limit:g}"
                for c in (self.goal.checks if self.goal else ()) if not c.holds(metrics)]

    def line(self) -> str:
        s = self.stats
        parts = [f"BENCH {self.benchmark}: {fmt(self.value)} {self.unit}"]
        if s["n"]:
            u = self.sample_unit
            parts.append(f"n={s['n']} median={fmt(s['median'])} {u} p95={fmt(s['p95'])} {u} p99={fmt(s['p99'])} {u} "
                         f"max={fmt(s['max'])} {u}")
        if self.baseline is not None:
            parts.append(f"baseline {fmt(self.baseline.value)} {self.baseline.unit}, ratio {fmt(self.ratio)}")
        if self.goal is not None:
            parts.append(f"goal {self.goal.text}: {'met' if self.goal_met else 'NOT met'}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("goal")
        data["stats"] = self.stats
        data["goalMet"] = self.goal_met
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "goal"}
        if known.get("baseline"):
            known["baseline"] = Baseline(**known["baseline"])
        return cls(**known, goal=GOALS.get(data["key"]))


def fmt(value: float | None) -> str:
    """A number with three significant digits (at least as integer), or an em dash for none."""
    if value is None:
        return "—"
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


class BenchResults:
    """The figures of one session, written (merged with earlier sessions' figures) by `write()`."""

    def __init__(self, *, json_path: Path, scale: float, environment: dict[str, Any] | None = None):
        self.json_path = json_path
        self.session = uuid.uuid4().hex[:12]
        self.started_at = _now()
        self.scale = scale
        self.environment = environment or {}
        self.figures: dict[str, Figure] = {}

    def record(self, figure: Figure) -> Figure:
        """Keep `figure` (its goal from `GOALS`), print its one-line summary, return it."""
        figure.goal = GOALS.get(figure.key)
        figure.benchmark = figure.benchmark or (figure.goal.benchmark if figure.goal else figure.key)
        figure.session, figure.measured_at = self.session, _now()
        figure.scale = self.scale if figure.scale is None else round(figure.scale, 4)
        self.figures[figure.key] = figure
        print(figure.line(), flush=True)
        return figure

    def merged(self) -> tuple[list[Figure], dict[str, Any]]:
        """This session's figures over those already in the JSON file; the sessions they come from."""
        previous = load(self.json_path)
        figures = {f["key"]: Figure.from_json(f) for f in previous.get("figures", [])}
        figures.update(self.figures)
        sessions = previous.get("sessions", {})
        sessions[self.session] = {"startedAt": self.started_at, "scale": self.scale, **self.environment}
        used = {f.session for f in figures.values()}
        return order(figures.values()), {k: v for k, v in sessions.items() if k in used}

    def write(self) -> tuple[list[Figure], dict[str, Any]]:
        """Write the merged figures to the JSON file; return them and their sessions."""
        figures, sessions = self.merged()
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        document = {"figures": [f.to_json() for f in figures], "sessions": sessions}
        self.json_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        return figures, sessions


def order(figures) -> list[Figure]:
    """Goals in the issue's order first, then the other figures by key."""
    rank = {key: i for i, key in enumerate(GOALS)}
    return sorted(figures, key=lambda f: (rank.get(f.key, len(rank)), f.key))


def load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
