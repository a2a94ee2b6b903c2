"""Feed health: what a poll outcome does to a Feed row, and when to poll it next.

The timing rules are pure functions of numbers; the `record_*` functions change a Feed
object in memory and leave storing it to the caller, so a poll can save the articles,
the validators and the health in one transaction.

Rules:
- success (200 or 304): errors reset; next poll after the feed's interval, lengthened
  (never shortened) by the server's Cache-Control max-age or the feed's ttl /
  sy:updatePeriod, capped at `max_backoff_seconds`, never under 5 minutes;
- failure: the n-th consecutive failure waits interval x 2^(n-1), +-10 % jitter, capped
  at `max_backoff_seconds` (24 h by default), and never less than a Retry-After (capped
  the same way);
- 410 Gone: the feed is marked gone and gets no next poll; its articles stay;
- permanent redirects (301/308): the stored URL moves once the same target was seen on
  `redirects_to_move` consecutive successful polls (2 by default), so one misconfigured
  response cannot move a subscription; 302/307 never move it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.models import Feed

MIN_INTERVAL_SECONDS = 300.0
MAX_ERROR_TEXT = 500


@dataclass(frozen=True)
class HealthPolicy:
    """Timing limits for scheduling (built from `[feeds]` settings by the caller)."""

    max_backoff_seconds: float = 24 * 3600.0
    min_interval_seconds: float = MIN_INTERVAL_SECONDS
    jitter: float = 0.1
    redirects_to_move: int = 2


def success_delay(
    *, interval_seconds: float, hints: tuple[float | None, ...] = (), policy: HealthPolicy
) -> float:
    """Seconds until the next poll after a success: the interval, lengthened by feed hints."""
    delay = max(float(interval_seconds), policy.min_interval_seconds)
    known = [h for h in hints if h is not None and h > 0]
    if known:
        delay = max(delay, min(max(known), policy.max_backoff_seconds))
    return max(policy.min_interval_seconds, delay)


def failure_delay(
    *,
    interval_seconds: float,
    consecutive_errors: int,
    policy: HealthPolicy,
    retry_after: float | None = None,
    rand: float = 0.5,
) -> float:
    """Seconds until the next poll after the n-th consecutive failure (n >= 1).

    `rand` in [0, 1) picks the jitter (0.5 means none), so the rule stays pure.
    """
    base = max(float(interval_seconds), policy.min_interval_seconds)
    exponent = max(0, consecutive_errors - 1)
    # 2**40 already exceeds any cap; a bounded exponent keeps the float finite.
    raw = min(policy.max_backoff_seconds, base * 2.0 ** min(exponent, 40))
    jittered = raw * (1.0 + policy.jitter * (2.0 * rand - 1.0))
    delay = min(policy.max_backoff_seconds, max(policy.min_interval_seconds, jittered))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, policy.max_backoff_seconds))
    return delay


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def record_success(
    feed: Feed,
    *,
    now: datetime,
    status: int,
    policy: HealthPolicy,
    etag: str | None = None,
    last_modified: str | None = None,
    not_modified: bool = False,
    entry_count: int | None = None,
    degraded_reason: str | None = None,
    hints: tuple[float | None, ...] = (),
) -> None:
    """A 200 with a feed, or a 304: errors cleared, validators kept or replaced, next poll set."""
    feed.last_fetch_at = now
    feed.last_success_at = now
    feed.last_status = status
    feed.consecutive_errors = 0
    feed.failing_since = None
    feed.last_error = None
    feed.error_kind = None
    feed.gone = False
    if not_modified:
        # A 304 may repeat the validators; it never clears them.
        feed.etag = etag or feed.etag
        feed.last_modified = last_modified or feed.last_modified
    else:
        feed.etag = etag
        feed.last_modified = last_modified
        feed.degraded_reason = degraded_reason
        if entry_count is not None:
            feed.entry_count = entry_count
    delay = success_delay(interval_seconds=feed.interval_seconds, hints=hints, policy=policy)
    feed.next_due_at = now + timedelta(seconds=delay)


def record_failure(
    feed: Feed,
    *,
    now: datetime,
    kind: str,
    message: str,
    policy: HealthPolicy,
    status: int | None = None,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> None:
    """A failed poll: counted, described, and the next poll pushed back (410: stopped)."""
    feed.last_fetch_at = now
    feed.last_status = status
    feed.consecutive_errors = (feed.consecutive_errors or 0) + 1
    if feed.failing_since is None:
        feed.failing_since = now
    feed.error_kind = kind
    feed.last_error = _clip(message)
    if kind == "gone":
        feed.gone = True
        feed.next_due_at = None
        return
    delay = failure_delay(
        interval_seconds=feed.interval_seconds,
        consecutive_errors=feed.consecutive_errors,
        policy=policy,
        retry_after=retry_after,
        rand=rand(),
    )
    feed.next_due_at = now + timedelta(seconds=delay)


def note_permanent_redirect(feed: Feed, target: str | None, *, policy: HealthPolicy) -> str | None:
    """Count a successful poll's permanent redirect; the URL to move to once it repeats."""
    if target is None or target == feed.url:
        feed.moved_to = None
        feed.permanent_redirects = 0
        return None
    if feed.moved_to == target:
        feed.permanent_redirects = (feed.permanent_redirects or 0) + 1
    else:
        feed.moved_to = target
        feed.permanent_redirects = 1
    if feed.permanent_redirects >= policy.redirects_to_move:
        return target
    return None


def move_feed(feed: Feed, new_url: str) -> None:
    """Point the feed at its new URL (the validators just stored came from it already)."""
    feed.url = new_url
    feed.moved_to = None
    feed.permanent_redirects = 0


def health_state(feed: Feed) -> str:
    """One word for a feed's state: new, ok, degraded, failing or gone."""
    if feed.gone:
        return "gone"
    if feed.consecutive_errors:
        return "failing"
    if feed.last_success_at is None:
        return "new"
    if feed.degraded_reason:
        return "degraded"
    return "ok"
