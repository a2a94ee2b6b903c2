"""One writer thread for a poll's database work, with writes batched while it is busy.

SQLite has one writer at a time, so a poll sends every write to one thread instead of
letting many threads queue on the lock. Writes that arrive while the thread is busy
are collected and applied together in one transaction (a batch of row updates, or of
feeds to store); if that transaction fails, each write is retried in a transaction of
its own, so one bad row or feed costs only itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from feeds.models import Feed
from feeds.store import polled_feed_params, polled_feed_update
from monitor.store.db import Database

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
R = TypeVar("R")
# Seconds a first feed-row write waits for others to share its transaction.
UPDATE_LINGER = 0.05


class DbWriter:
    """Runs database calls on one thread; `save_feed` batches writes of feed rows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-db")
        self._updates: Batcher[dict[str, Any], None] = Batcher(
            self,
            group=self._apply,
            one=lambda u: self._apply([u])[0],
            max_items=500,
            linger=UPDATE_LINGER,
        )

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(fn, *args, **kwargs))

    async def save_feed(self, feed: Feed) -> None:
        """Write a feed's poll columns (health, validators, lease), batched with others.

        The caller holds the feed's lease, so its in-memory row is current; a feed removed
        meanwhile is simply not there to update.
        """
        await self._updates.submit(polled_feed_params(feed))

    def _apply(self, rows: Sequence[dict[str, Any]]) -> list[None]:
        # The same statement the store path writes feed rows with (feeds.store).
        with self.db.write() as session:
            session.execute(polled_feed_update(), list(rows))
        return [None] * len(rows)

    def close(self) -> None:
        self._thread.shutdown(wait=True)


class Batcher(Generic[I, R]):
    """Collects items while the writer is busy; runs them as one group, else one by one.

    `group(items)` and `one(item)` run on the writer thread; `group` returns one result
    per item, in order.
    """

    def __init__(
        self,
        writer: DbWriter,
        *,
        group: Callable[[Sequence[I]], list[R]],
        one: Callable[[I], R],
        max_items: int,
        weight: Callable[[I], int] | None = None,
        max_weight: int | None = None,
        linger: float = 0.0,
    ) -> None:
        self.writer = writer
        self.group = group
        self.one = one
        self.max_items = max_items
        self.weight = weight
        self.max_weight = max_weight
        self.linger = linger
        self._pending: list[tuple[I, asyncio.Future[R]]] = []
        self._flushing = False

    async def submit(self, item: I) -> R:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, done))
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush())
        return await done

    def _take(self) -> list[tuple[I, asyncio.Future[R]]]:
        taken: list[tuple[I, asyncio.Future[R]]] = []
        total = 0
        while self._pending and len(taken) < self.max_items:
            item, done = self._pending[0]
            w = self.weight(item) if self.weight else 0
            if taken and self.max_weight is not None and total + w > self.max_weight:
                break
            total += w
            taken.append(self._pending.pop(0))
        return taken

    async def _flush(self) -> None:
        try:
            if self.linger:
                # Let a few more arrive: one transaction for many rows costs less.
                await asyncio.sleep(self.linger)
            while self._pending:
                batch = self._take()
                items = [item for item, _ in batch]
                try:
                    results = await self.writer.call(self.group, items)
                except Exception:
                    for item, done in batch:
                        await self._one(item, done)
                else:
                    for (_, done), result in zip(batch, results, strict=True):
                        if not done.done():
                            done.set_result(result)
        finally:
            self._flushing = False

    async def _one(self, item: I, done: asyncio.Future[R]) -> None:
        try:
            result = await self.writer.call(self.one, item)
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(result)
