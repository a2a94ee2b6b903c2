"""Errors raised by the pledges package.

PledgeError
└── CatalogueError      one or more problems in a catalogue folder
"""

from __future__ import annotations

from dataclasses import dataclass


class PledgeError(Exception):
    """Base class for pledge errors."""


@dataclass(frozen=True)
class Problem:
    """One problem in a catalogue file: where it is and what is wrong."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"


class CatalogueError(PledgeError):
    """A catalogue could not be loaded; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
