"""Benchmarks print figures (medians, p95) and assert nothing about speed: these machines are noisy."""
