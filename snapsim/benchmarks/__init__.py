"""Benchmarks: each module exposes run(quick=False) -> dict with its figures and a same-run baseline."""
