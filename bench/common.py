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


def feedparser_rate(bodies: list[bytes]) -> float:
    """Items per CPU second of a bare feedparser.parse loop here: the machine's speed.

    Parsing is the slowest step of a first poll; this puts its floor beside the figures.
    """
    sample = bodies[:50]
    t0 = time.process_time()
    items = sum(len(feedparser.parse(b).entries) for b in sample)
    return items / max(time.process_time() - t0, 1e-9)
