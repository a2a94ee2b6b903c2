"""What a poll did: one result per feed and a report over them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FeedPollResult:
    """What polling one feed did."""

    feed_id: int
    url: str
    status: int | None = None
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    updated: int = 0
    flags: int = 0
    error_kind: str | None = None
    error: str | None = None
    degraded: str | None = None
    moved_to: str | None = None
    gone: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_kind is None


@dataclass
class PollReport:
    """What one poll run did, feed by feed."""

    owner: str
    results: list[FeedPollResult] = field(default_factory=list)
    # Feeds asked for by id that were not polled (unknown, or leased by another poller).
    skipped: list[int] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failed(self) -> list[FeedPollResult]:
        return [r for r in self.results if not r.ok]

    @property
    def not_modified(self) -> int:
        return sum(1 for r in self.results if r.not_modified)

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    @property
    def flags(self) -> int:
        return sum(r.flags for r in self.results)
