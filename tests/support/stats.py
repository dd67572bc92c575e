"""Figures for benchmarks: median and p95 of a sample, printed on one line."""

from __future__ import annotations

import statistics


def summary(name: str, samples: list[float], unit: str = "s") -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    line = (f"BENCH {name}: n={len(samples)} median={statistics.median(samples):.3f}{unit} "
            f"p95={p95:.3f}{unit} min={ordered[0]:.3f}{unit} max={ordered[-1]:.3f}{unit}")
    print(line, flush=True)
    return line
