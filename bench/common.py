"""Shared pieces for benchmarks: a result line and a timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import feedparser


@dataclass
class Result:
    """One measured target: `value` compared with `target` using `op` ('<=' or '>=')."""

    name: str
    value: float
    target: float
    op: str = "<="
    unit: str = "x"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.value <= self.target if self.op == "<=" else self.value >= self.target

    def line(self) -> str:
        mark = "PASS" if self.ok else "MISS"
        return (
            f"[{mark}] {self.name}: {self.value:.3g}{self.unit} (target {self.op} "
            f"{self.target:g}{self.unit}){'  ' + self.detail if self.detail else ''}"
        )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call, and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def parse_rates(bodies: list[bytes]) -> tuple[float, float]:
    """Items per CPU second here of a bare feedparser.parse loop and of feeds.parse.parse.

    The first says how fast this machine is (the issues quote about 2,600 items/s); the
    second, what a poll's parsing actually costs, puts the parse-bound floor of a first
    poll beside the figures.
    """
    from datetime import UTC, datetime

    from feeds.parse import parse

    sample = bodies[:50]
    now = datetime.now(UTC)
    headers = {"content-type": "application/rss+xml"}
    parse(sample[0], url="http://bench.invalid/feed", headers=headers, now=now)  # warm up
    t0 = time.process_time()
    items = sum(len(feedparser.parse(b).entries) for b in sample)
    bare = items / max(time.process_time() - t0, 1e-9)
    t0 = time.process_time()
    for b in sample:
        parse(b, url="http://bench.invalid/feed", headers=headers, now=now)
    ours = items / max(time.process_time() - t0, 1e-9)
    return bare, ours
