"""Tables that fit the terminal.

Ids, dates, scores and statuses are never shrunk: an analyst copies an id into the next
command and compares scores by eye. Free text (titles, names) is cut with an ellipsis
instead. Below `TWO_LINES_BELOW` columns there is no room for a title beside everything
else, so each row takes two lines: the short fields first, the long text indented below.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import click
from rich.cells import cell_len, set_cell_size

TWO_LINES_BELOW = 110
GAP = "  "
INDENT = "    "
# Flexible columns are not cut below this (unless the terminal itself is narrower).
MIN_FLEX = 8
# A text column cut narrower than this on one line is worth a second line instead.
READABLE = 20
PIPE_WIDTH = 160


@dataclass(frozen=True)
class Col:
    """One column: `fixed` ones keep their width; `second` ones go below in two-line rows."""

    name: str
    fixed: bool = False
    second: bool = False
    header: str | None = None
    # In the second line, show `header value` (for numbers that mean nothing alone).
    labelled: bool = False
    right: bool = False

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.name


def terminal_width() -> int:
    """COLUMNS when set, the terminal's width on a terminal, else a wide page for pipes."""
    env = os.environ.get("COLUMNS", "")
    if env.isascii() and env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return PIPE_WIDTH


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    return set_cell_size(text, width - 1) + "…"


def cut(text: str, width: int) -> str:
    """`text` cut with an ellipsis to at most `width` cells (not padded)."""
    return text if cell_len(text) <= width else fit(text, width)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _share(natural: list[int], room: int) -> list[int]:
    """Share `room` cells among flexible columns: small ones whole, the rest evenly."""
    widths = [0] * len(natural)
    left = sorted(range(len(natural)), key=lambda i: natural[i])
    while left:
        fair = max(room // len(left), 0)
        i = left[0]
        if natural[i] <= fair:
            widths[i] = natural[i]
            room -= natural[i]
            left.pop(0)
            continue
        for j in left:
            widths[j] = max(fair, min(MIN_FLEX, natural[j]))
        break
    return widths


def _widths(
    natural: Sequence[int], cols: Sequence[Col], shown: Sequence[int], width: int
) -> dict[int, int]:
    """Widths of the `shown` columns: fixed ones natural, flexible ones sharing the rest."""
    shown = list(shown)
    widths = {i: natural[i] for i in shown}
    if sum(widths.values()) + len(GAP) * (len(shown) - 1) <= width:
        return widths
    fixed = sum(natural[i] for i in shown if cols[i].fixed) + len(GAP) * (len(shown) - 1)
    flex = [i for i in shown if not cols[i].fixed]
    for i, w in zip(flex, _share([natural[i] for i in flex], width - fixed), strict=True):
        widths[i] = w
    return widths


def _line(cells: Sequence[str], cols: Sequence[Col], widths: Sequence[int]) -> str:
    parts = []
    for value, col, w in zip(cells, cols, widths, strict=True):
        if col.right and cell_len(value) < w:
            parts.append(" " * (w - cell_len(value)) + value)
        else:
            parts.append(fit(value, w))
    return GAP.join(parts).rstrip()


def layout(
    rows: Sequence[Sequence[str]], cols: Sequence[Col], width: int
) -> tuple[list[str], list[str]]:
    """Header lines and row lines, no wider than `width` (fixed columns permitting)."""
    rows = [[_one_line(v) for v in r] for r in rows]
    natural = [
        max([cell_len(c.title), *(cell_len(r[i]) for r in rows)]) for i, c in enumerate(cols)
    ]
    whole = sum(natural) + len(GAP) * (len(cols) - 1)
    two = False
    if whole > width and any(c.second for c in cols):
        one = _widths(natural, cols, range(len(cols)), width)
        cramped = any(one[i] < min(natural[i], READABLE) for i in one if not cols[i].fixed)
        two = width < TWO_LINES_BELOW or cramped
    first = [i for i, c in enumerate(cols) if not (two and c.second)]
    widths = _widths(natural, cols, first, width)
    top_cols = [cols[i] for i in first]
    top_widths = [widths[i] for i in first]
    header = [_line([c.title for c in top_cols], top_cols, top_widths)]
    below = [i for i, c in enumerate(cols) if two and c.second]
    if below:
        header.append(INDENT + cut(" · ".join(cols[i].title for i in below), width - len(INDENT)))
    out: list[str] = []
    for r in rows:
        out.append(_line([r[i] for i in first], top_cols, top_widths))
        if below:
            parts = [f"{cols[i].title} {r[i]}" if cols[i].labelled else r[i] for i in below if r[i]]
            out.append(INDENT + cut(" · ".join(parts), width - len(INDENT)))
    return header, out


def print_table(
    rows: Sequence[Sequence[str]], cols: Sequence[Col], width: int | None = None
) -> None:
    """Print the table to stdout, its header in bold."""
    header, body = layout(rows, cols, width or terminal_width())
    for line in header:
        click.echo(click.style(line, bold=True))
    for line in body:
        click.echo(line)
