"""Benchmarks: each `bench_*.py` module measures a target side by side and prints ratios."""
