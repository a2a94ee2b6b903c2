"""Errors raised by the feeds package.

FeedError               base; carries the feed URL (or file) and a short `kind`
├── FetchError          the bytes could not be fetched (timeout, too_large, http_404...)
│   └── UnsafeURLError  the URL or an address it resolves to is not allowed
└── ParseError          the bytes are not a feed we can read (not_a_feed, unsafe_xml...)
"""

from __future__ import annotations


class FeedError(Exception):
    """Base class: `kind` is a short machine-readable reason, the message says what to check."""

    kind = "error"

    def __init__(self, message: str, *, url: str = "", kind: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        if kind is not None:
            self.kind = kind


class FetchError(FeedError):
    kind = "fetch_error"


class UnsafeURLError(FetchError):
    kind = "unsafe_url"


class ParseError(FeedError):
    kind = "parse_error"
