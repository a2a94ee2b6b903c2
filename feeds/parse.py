"""Bytes to entries (pure): the only module that imports feedparser."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import nh3

from feeds.errors import ParseError

MAX_TITLE = 1_000
MAX_TEXT = 200_000
FUTURE_SLACK = timedelta(hours=24)
ANCIENT = datetime(1990, 1, 1, tzinfo=UTC)

# Entity declarations are what make feedparser's loose parser blow up (quadratic
# expansion); real feeds do not need them.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_TAGS = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$|ref$|cmpid$)", re.IGNORECASE)
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "dl", "dt", "em", "figcaption",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s", "small",
    "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}


@dataclass(frozen=True)
class Entry:
    """One feed entry, normalised and safe to store."""

    key: str
    title: str
    link: str | None
    entry_id: str | None
    summary_html: str
    text: str
    published: datetime | None
    published_estimated: bool
    content_hash: str


@dataclass
class ParsedFeed:
    """A parsed feed: its entries and what was wrong with it, if anything."""

    title: str
    link: str | None
    entries: list[Entry] = field(default_factory=list)
    # Set when the XML was ill-formed but entries were recovered.
    degraded_reason: str | None = None
    # Polling hint from the feed itself (sy:updatePeriod / ttl), in seconds.
    update_seconds: int | None = None


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Unicode NFC, no control or zero-width characters, bounded length."""
    value = unicodedata.normalize("NFC", value)
    value = _CONTROL.sub("", value)
    return value[:limit]


def plain_text(fragment: str) -> str:
    """HTML fragment to one line of plain text."""
    no_tags = _TAGS.sub(" ", fragment)
    return _WS.sub(" ", html.unescape(no_tags)).strip()


def sanitize_html(fragment: str) -> str:
    """Allowlist sanitising for display: no scripts, no event handlers, http(s)/mailto links."""
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "abbr": {"title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def canonical_link(url: str) -> str:
    """Lower-case scheme and host, drop the fragment and tracking parameters."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    netloc = parts.netloc.lower()
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def _safe_link(value: str | None) -> str | None:
    if not value:
        return None
    value = clean_text(value.strip(), 2_000)
    return value if re.match(r"^https?://", value, re.IGNORECASE) else None


def _date(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        st = entry.get(key)
        if st:
            try:
                dt = datetime(*st[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
            if dt > now + FUTURE_SLACK or dt < ANCIENT:
                return None
            return dt
    return None


def entry_key(entry_id: str | None, link: str | None, title: str, text: str) -> str:
    """Stable dedupe key: entry id, else canonical link, else a content hash."""
    if entry_id:
        return "id:" + entry_id[:500]
    if link:
        return "url:" + canonical_link(link)[:500]
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return "sha:" + digest


def _update_seconds(feed: Any) -> int | None:
    ttl = feed.get("ttl")
    if ttl and str(ttl).isdigit():
        return int(ttl) * 60
    period = str(feed.get("sy_updateperiod", "")).strip().lower()
    per = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
           "yearly": 31536000}.get(period)
    if per is None:
        return None
    freq = str(feed.get("sy_updatefrequency", "1")).strip()
    n = int(freq) if freq.isdigit() and int(freq) > 0 else 1
    return per // n


def parse(
    content: bytes,
    *,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse feed bytes into normalised entries; raise ParseError when it is not a feed."""
    now = now or datetime.now(UTC)
    if not content.strip():
        raise ParseError("empty response body", url=url, kind="empty")
    if _ENTITY_DECL.search(content[:65_536]):
        raise ParseError("feed declares XML entities (refused: entity expansion risk)",
                         url=url, kind="unsafe_xml")
    head = content.lstrip()[:1]
    if head in (b"{", b"["):
        raise ParseError("JSON is not a supported feed format", url=url, kind="unsupported_format")
    resp_headers = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        parsed = feedparser.parse(content, response_headers=resp_headers,
                                  sanitize_html=True, resolve_relative_uris=True)
    except Exception as exc:  # feedparser raises on some tiny hostile inputs
        raise ParseError(f"feed could not be parsed ({type(exc).__name__})",
                         url=url, kind="parse_crash") from exc
    version = parsed.get("version") or ""
    entries_raw = parsed.get("entries") or []
    if not version and not entries_raw:
        reason = "not a feed (looks like HTML)" if b"<html" in content[:4096].lower() else "not a feed"
        raise ParseError(reason, url=url, kind="not_a_feed")
    degraded = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        name = type(exc).__name__ if exc is not None else "unknown"
        if name not in ("CharacterEncodingOverride",):
            degraded = f"ill-formed feed ({name}: {str(exc)[:200]})"
    feed = parsed.get("feed", {})
    result = ParsedFeed(
        title=clean_text(plain_text(feed.get("title", "") or ""), MAX_TITLE),
        link=_safe_link(feed.get("link")),
        degraded_reason=degraded,
        update_seconds=_update_seconds(feed),
    )
    for raw in entries_raw:
        result.entries.append(_entry(raw, now))
    return result


def _entry(raw: Any, now: datetime) -> Entry:
    title = clean_text(plain_text(raw.get("title", "") or ""), MAX_TITLE)
    body = ""
    contents = raw.get("content") or []
    if contents:
        body = max((c.get("value", "") or "" for c in contents), key=len)
    summary = raw.get("summary", "") or ""
    fragment = clean_text(body if len(body) > len(summary) else summary)
    summary_html = sanitize_html(fragment)
    text = clean_text(plain_text(fragment))
    link = _safe_link(raw.get("link"))
    entry_id = raw.get("id") or None
    if entry_id is not None:
        entry_id = clean_text(str(entry_id).strip(), 1_000) or None
    published = _date(raw, now)
    key = entry_key(entry_id, link, title, text)
    content_hash = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
    return Entry(
        key=key,
        title=title,
        link=link,
        entry_id=entry_id,
        summary_html=summary_html,
        text=text,
        published=published,
        published_estimated=published is None,
        content_hash=content_hash,
    )
