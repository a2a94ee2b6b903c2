"""Reading HTTP response headers that steer polling: Retry-After and Cache-Control (pure)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*\"?([0-9]+)", re.IGNORECASE)
# Seconds a server's number is read as at most (over 30 years; every use caps it lower).
# Longer digit strings are not converted: int() refuses over 4,300 digits and float()
# over 308, and a hostile header must not raise where a number was expected.
MAX_SECONDS = 1_000_000_000


def _get(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _seconds(digits: str) -> int:
    """ASCII digits as a number of seconds, saturated at MAX_SECONDS."""
    if len(digits.lstrip("0")) > len(str(MAX_SECONDS)):
        return MAX_SECONDS
    return min(int(digits), MAX_SECONDS)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    # isdigit() alone also accepts digits int() refuses, such as a Latin-1 superscript.
    if text.isascii() and text.isdigit():
        return float(_seconds(text))
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
    ages = [_seconds(m) for m in _MAX_AGE.findall(value)]
    return max(ages) if ages else None
