"""Reading HTTP response headers that steer polling: Retry-After and Cache-Control (pure)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


def _get(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """The Retry-After of a response, in seconds from `now`."""
    return parse_retry_after(_get(headers, "retry-after"), now=now)


def cache_max_age(headers: Mapping[str, str]) -> int | None:
    """Cache-Control max-age (or s-maxage) in seconds; None when absent or no-cache."""
    value = _get(headers, "cache-control")
    if not value:
        return None
    ages = [int(m) for m in _MAX_AGE.findall(value)]
    return max(ages) if ages else None
