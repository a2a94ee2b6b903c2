"""Bytes to entries (pure): the only module that imports feedparser.

`parse(content, url=..., headers=...)` turns the bytes of one feed into normalised,
display-safe entries or raises `ParseError` with a short `kind`:

    empty               nothing but whitespace
    unsafe_xml          the document declares XML entities (expansion bombs, XXE)
    unsupported_format  JSON Feed or another non-XML format
    not_a_feed          an HTML page or any document with no feed in it
    parse_crash         feedparser raised (the message names the exception class)

What is stored is safe to show and to put in a mail header: titles are plain text with
tags removed, whitespace (CR/LF included) collapsed; summaries are re-sanitised with nh3
(an allowlist; http, https and mailto links only); text, titles, ids and links never
contain `<script` or `javascript:` in any case (see `defang`). Control, zero-width, bidi and
BOM characters are removed and text is NFC-normalised before anything is hashed.

Relative links (entry links and links in content) resolve as in a feed reader: against
the nearest xml:base (content, entry, then feed), then the document's URL; a local file
has none, so its feed's own link stands in.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
import nh3
from feedparser.encodings import convert_to_utf8

from feeds.errors import ParseError
from feeds.redact import without_secrets

MAX_TITLE = 1_000
MAX_TEXT = 200_000
MAX_LINK = 2_000
MAX_ID = 1_000
# Entries beyond this in one document are not read (the feed is marked degraded).
MAX_ENTRIES = 20_000
FUTURE_SLACK = timedelta(hours=24)
ANCIENT = datetime(1990, 1, 1, tzinfo=UTC)

# Entity declarations are what make feedparser's loose parser blow up (quadratic
# expansion) and what external entities need; real feeds do not use them. The check runs
# on the UTF-8 text feedparser itself would parse, so UTF-16, UTF-32, EBCDIC or a
# charset header cannot hide a declaration.
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
# Numeric character references that could name a surrogate, zero or a code point past
# U+10FFFF (feedparser raises on those instead of reporting the feed as ill-formed).
_XML_CONTROLS = bytes([*range(0, 9), 11, 12, *range(14, 32)])
_SUSPECT_CHARREF = re.compile(
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})|0*([0-9]{5,}));"
)
# Whitespace before the XML declaration (a BOM may come first): the declaration must open
# the document, or its encoding is ignored and the strict parser gives up.
_SPACE_BEFORE_DECL = re.compile(rb"^(\xef\xbb\xbf)?[ \t\r\n]+(?=<\?xml[ \t\r\n])")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SINGLE_BYTE = {
    "iso-8859-1",
    "latin-1",
    "latin1",
    "us-ascii",
    "ascii",
    "windows-1252",
    "cp1252",
    "iso-8859-15",
}
# Start tags of RSS items and Atom entries (any namespace prefix), counted before parsing.
# In any case: feedparser folds element names to lower case, so <ITEM> is an entry too.
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]", re.IGNORECASE)
_HTML_START = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
# A link element's `uri` attribute naming no web address (`<link uri="at://...">URL</link>`):
# feedparser takes the attribute over the element's text and the web address is lost, so
# the attribute is renamed out of its sight (one that names a web address is kept).
_LINK_URI = re.compile(rb"""(<link\b[^<>]*?\s)uri(\s*=\s*["'])(?!\s*https?:)""", re.IGNORECASE)
# Default namespaces of RDF channels (RSS 0.90, RSS 1.0): an RDF document in one is a feed
# even with no item yet, which feedparser only recognises by its items.
_RDF_CHANNELS = frozenset(
    {
        "http://channel.netscape.com/rdf/simple/0.9/",
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://purl.org/rss/1.0/",
    }
)
# C0/C1 controls (tab, LF and CR kept), zero-width and bidi marks (embeddings, overrides,
# isolates, the Arabic letter mark), word joiners, BOM, soft hyphen, lone surrogates
# (which no database accepts) and tag characters (invisible ASCII look-alikes).
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    "\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff"
    "\U000e0000-\U000e007f]"
)
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")
# Start and end tags, for measuring how deep a fragment nests.
_NESTING_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# The sanitiser's cost grows with the square of nesting depth (18,000 nested <div> took
# 2.5 s); no article needs more than a few dozen levels.
MAX_DEPTH = 256
# A tag cut off by the text cap, at the very end.
_CUT_TAG = re.compile(r"<[A-Za-z/!?][^<>]*$")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# Character references closed by ";". HTML also decodes some names without one ("&reg",
# "&sect"), which turns a query string in a title ("?a=1&region=eu") into "?a=1®ion=eu".
_CHAR_REF = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});")
_JS_SCHEME = re.compile(r"(javascript)\s*:", re.IGNORECASE)
_HAS_SPACE = re.compile(r"\s")
_PLAIN_URL = re.compile(r"^https?://[a-z0-9.-]+(?::[0-9]+)?/[^%]*$")
_HTTP = re.compile(r"^https?://[^\s/]", re.IGNORECASE)
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$|ref$|cmpid$)", re.IGNORECASE)
# A bare id like "42" or "post-7" is unique only inside its feed; anything with a scheme
# or a colon (URLs, tag: and urn: ids) is taken as globally unique.
_GLOBAL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S")
_SAFE_ID = re.compile(r"^[\x21-\x7e]{1,400}$")
_BENIGN_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "dl", "dt", "em",
    "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre",
    "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
_URL_SCHEMES = {"http", "https", "mailto"}


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

    @property
    def is_empty(self) -> bool:
        """Nothing a reader or the detector could use: no headline, no text, no link.
        Parsers keep such entries (`<item/>`); storing them would give one blank article."""
        return not (self.title.strip() or self.text.strip() or self.link)


@dataclass
class ParsedFeed:
    """A parsed feed: its entries and what was wrong with it, if anything."""

    title: str
    link: str | None
    entries: list[Entry] = field(default_factory=list)
    # Set when the XML was ill-formed but entries were recovered (or some were dropped).
    degraded_reason: str | None = None
    # Polling hint from the feed itself (sy:updatePeriod / ttl), in seconds.
    update_seconds: int | None = None


def defang(value: str) -> str:
    """Neutralise what could turn text into markup or a script URL if shown unescaped.

    A `<` that could open a tag gets a space after it and `javascript:` becomes
    `javascript :`; the words stay searchable, nothing can execute.
    """
    if "<" in value:
        value = _TAG_START.sub("< ", value)
    if ":" in value:
        value = _JS_SCHEME.sub(r"\1 :", value)
    return value


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Unicode NFC, no control or zero-width characters, bounded length."""
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    value = _CONTROL.sub("", value)
    return value[:limit]


def plain_text(fragment: str, limit: int = MAX_TEXT) -> str:
    """HTML fragment (or text) to one line of safe plain text.

    Tags are dropped, also escaped ones (`&lt;script&gt;` is markup once unescaped),
    unless they are all there is: a title `</example>` is about that text, so it stays,
    defanged.
    """
    text = _drop_tags(fragment) if "<" in fragment else fragment
    if "&" in text:
        text = _CHAR_REF.sub(lambda m: html.unescape(m.group()), text)
        if "<" in text:
            text = _drop_tags(text)
    text = " ".join(clean_text(text, limit * 2).split())
    return defang(text)[:limit]


def _drop_tags(text: str) -> str:
    stripped = _TAG.sub(" ", text)
    return stripped if stripped.strip() else text


# Marks a title made up for an entry that had none, so readers know it is not the outlet's.
STAND_IN_MARK = "[untitled] "
STAND_IN_WORDS = 90


def stand_in_title(text: str, link: str | None) -> str:
    """A title for an entry without one: its first words, else its link; marked as such."""
    if text:
        words = text if len(text) <= STAND_IN_WORDS else text[:STAND_IN_WORDS]
        if len(text) > STAND_IN_WORDS:
            cut = words.rsplit(" ", 1)[0] if " " in words else words
            words = cut.rstrip(" ,;:.") + "…"
        return STAND_IN_MARK + words
    if link:
        parts = urlsplit(link)
        return STAND_IN_MARK + (parts.netloc + parts.path).rstrip("/")
    return ""


@lru_cache(maxsize=64)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    # Building the allowlist costs more than cleaning a summary: one cleaner per base URL.
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        url_relative=("rewrite_with_base", base_url) if base_url else "deny",
    )


def nests_deeper_than(fragment: str, limit: int) -> bool:
    """Whether elements in `fragment` open more than `limit` deep (one linear pass)."""
    if fragment.count("<") <= limit:
        return False  # too few tags to nest that deep: most fragments stop here
    depth = 0
    for m in _NESTING_TAG.finditer(fragment):
        closing, name, self_closing = m.groups()
        if closing:
            depth = max(depth - 1, 0)
        elif not self_closing and name.lower() not in _VOID:
            depth += 1
            if depth > limit:
                return True
    return False


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Allowlist sanitising for display: no scripts, no event handlers, http(s)/mailto links.

    Relative links are made absolute against `base_url`, or dropped without one. Markup
    nested deeper than MAX_DEPTH is shown as its text, escaped.
    """
    if nests_deeper_than(fragment, MAX_DEPTH):
        return html.escape(plain_text(_CUT_TAG.sub("", fragment)), quote=False)
    cleaned = _cleaner(base_url).clean(fragment)
    # Text that merely mentions the scheme is kept, as an entity nobody executes.
    return _JS_SCHEME.sub(r"\1&#58;", cleaned) if ":" in cleaned else cleaned


def canonical_link(url: str) -> str:
    """Lower-case scheme and host, drop the fragment and tracking parameters."""
    url = url.strip()
    if "?" not in url and "#" not in url and _PLAIN_URL.match(url):
        return url  # already canonical (most links): skip the split and rejoin
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket ("http://[::1/x"): kept as written
        return url
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def safe_link(value: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL without whitespace or control characters, else None."""
    if not value or not isinstance(value, str):
        return None
    value = _CONTROL.sub("", value).strip()
    if base and not _HTTP.match(value) and ":" not in value.split("/", 1)[0]:
        value = urljoin(base, value)
    if not _HTTP.match(value) or _HAS_SPACE.search(value):
        return None
    if "[" in value:
        try:
            urlsplit(value)
        except ValueError:  # an unclosed IPv6 bracket: no link anyone could follow
            return None
    value = value.replace("<", "%3C").replace(">", "%3E").replace('"', "%22")
    return _JS_SCHEME.sub(r"\1%3A", value)[:MAX_LINK]


def _date(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict's own get maps missing keys to others, with a warning.
        st = dict.get(entry, key)
        if st:
            try:
                dt = datetime(*st[:6]).replace(tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            if dt > now + FUTURE_SLACK or dt < ANCIENT:
                return None
            return dt
    return None


def content_hash(title: str, text: str) -> str:
    """What decides whether a stored article changed: its title and plain text."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]


def entry_key(
    entry_id: str | None, link: str | None, title: str, text: str, scope: str = ""
) -> str:
    """Stable dedupe key: entry id, else canonical link, else a content hash.

    Ids that are not globally unique (no scheme, like "42") are scoped by `scope`, the
    feed's own identity, so two feeds numbering their posts from 1 do not collide. Ids
    that are URLs are canonicalised like links; ids with unusual characters are hashed.
    """
    if entry_id:
        if _GLOBAL_ID.match(entry_id):
            if _HTTP.match(entry_id):
                entry_id = canonical_link(entry_id)
        else:
            entry_id = f"{scope}#{entry_id}"
        if _SAFE_ID.match(entry_id) and defang(entry_id) == entry_id:
            return "id:" + entry_id
        return "idh:" + hashlib.sha256(entry_id.encode("utf-8", "replace")).hexdigest()
    if link:
        return "url:" + canonical_link(link)[:500]
    return "sha:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


def _hint_number(text: str) -> int | None:
    """A polling hint's number when it is 1..99,999 in ASCII digits, else None.

    The length is checked first: int() raises on over 4,300 digits, which would refuse
    the whole feed over one silly hint.
    """
    if text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 5 and int(text) > 0:
        return int(text)
    return None


def _update_seconds(feed: Any) -> int | None:
    ttl = _hint_number(str(feed.get("ttl", "") or "").strip())
    if ttl is not None:
        return ttl * 60
    period = str(feed.get("sy_updateperiod", "") or "").strip().lower()
    per = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
           "yearly": 31536000}.get(period)  # fmt: skip
    if per is None:
        return None
    n = _hint_number(str(feed.get("sy_updatefrequency", "1") or "1").strip()) or 1
    return per // n


def _headers(headers: Mapping[str, str] | None, content: bytes) -> dict[str, str]:
    """Response headers for feedparser, with a mislabelled UTF-8 body relabelled."""
    out = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    declared = ""
    ctype = out.get("content-type", "")
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", ctype, re.IGNORECASE)
    if m:
        declared = m.group(1)
    else:
        decl = _XML_ENCODING.match(content[:512])
        if decl:
            declared = decl.group(1).decode("ascii")
    # A header declaring UTF-16 or UTF-32 over a body whose markup has no NUL bytes
    # ("<?xml", not "<\0?\0") is wrong: read the body by its own declaration or BOM.
    if m and declared.lower().startswith(("utf-16", "utf-32", "ucs-")):
        if content[:4].lstrip(b"\xef\xbb\xbf")[:1] == b"<" and b"\0" not in content[:8]:
            out["content-type"] = ctype[: m.start()].rstrip(" ;") or "application/xml"
            return out
    # A body declared Latin-1 (or ASCII) that is valid UTF-8 with non-ASCII bytes is
    # UTF-8: real Latin-1 text almost never forms valid multi-byte sequences.
    if declared.lower() in _SINGLE_BYTE and not content.isascii():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            out["content-type"] = "application/xml; charset=utf-8"
    return out


def _to_utf8(content: bytes, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """The UTF-8 document feedparser would parse, and any encoding complaint."""
    info: dict[str, Any] = {}
    data = convert_to_utf8(headers, content, info)
    reason = None
    if info.get("bozo"):
        exc = info.get("bozo_exception")
        if type(exc).__name__ not in _BENIGN_BOZO:
            reason = f"encoding: {type(exc).__name__}: {str(exc)[:200]}"
    return (data if isinstance(data, bytes) else content), reason


def parse(
    content: bytes,
    *,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """Parse feed bytes into normalised entries; raise ParseError when it is not a feed."""
    now = now or datetime.now(UTC)
    if not content.strip():
        raise ParseError("empty response body", url=url, kind="empty")
    content = _SPACE_BEFORE_DECL.sub(rb"\1", content, count=1)
    resp_headers = _headers(headers, content)
    try:
        data, encoding_issue = _to_utf8(content, resp_headers)
    except Exception as exc:  # never let a hostile body take the process down
        raise ParseError(
            f"feed could not be decoded ({type(exc).__name__}: {exc})", url=url, kind="parse_crash"
        ) from exc
    body = _strip_declaration(data)
    if not body.strip(b" \t\r\n\x00"):
        raise ParseError("empty response body", url=url, kind="empty")
    if _ENTITY_DECL.search(data):
        raise ParseError(
            "feed declares XML entities (refused: entity expansion and external entity risk)",
            url=url,
            kind="unsafe_xml",
        )
    # Control characters are not allowed in XML; removing them keeps the strict parser.
    data = data.translate(None, _XML_CONTROLS)
    data, replaced = _replace_bad_charrefs(data)
    if replaced:
        note = f"{replaced} invalid character references replaced"
        encoding_issue = f"{encoding_issue}; {note}" if encoding_issue else note
    if body[:1] in (b"{", b"["):
        raise ParseError(
            "JSON (JSON Feed?) is not a supported feed format", url=url, kind="unsupported_format"
        )
    data, total = _trim_entries(data, max_entries)
    if b" uri" in data or b" URI" in data:
        data = _LINK_URI.sub(rb"\1data-uri\2", data)
    resp_headers["content-type"] = "application/xml; charset=utf-8"
    try:
        parsed = feedparser.parse(
            io.BytesIO(data),
            response_headers=resp_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser raises on some tiny hostile inputs
        raise ParseError(
            f"feed could not be parsed ({type(exc).__name__}: {str(exc)[:200]})",
            url=url,
            kind="parse_crash",
        ) from exc
    try:
        return _build(parsed, data, url, now, max_entries, encoding_issue, total)
    except ParseError:
        raise
    except Exception as exc:  # odd shapes in feedparser's output
        raise ParseError(
            f"feed could not be read ({type(exc).__name__}: {str(exc)[:200]})",
            url=url,
            kind="parse_crash",
        ) from exc


def _replace_bad_charrefs(data: bytes) -> tuple[bytes, int]:
    """Replace references to impossible characters with U+FFFD; count them."""
    count = 0

    def fix(m: re.Match[bytes]) -> bytes:
        nonlocal count
        digits, base = (m.group(1), 16) if m.group(1) is not None else (m.group(2), 10)
        # More digits than U+10FFFF takes is past it (and int() refuses 4,301 decimal ones).
        value = 0x110000 if len(digits) > 7 else int(digits, base)
        if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
            count += 1
            return b"&#xFFFD;"
        return m.group(0)

    if b"&#" not in data:
        return data, 0
    return _SUSPECT_CHARREF.sub(fix, data), count


def _trim_entries(data: bytes, max_entries: int) -> tuple[bytes, int]:
    """The document without the entries past `max_entries`, and how many it had (0: uncut).

    feedparser reads every entry before any cap could apply (about 0.2 ms each). Cutting
    from the first entry past the cap to the end of the last entry leaves the elements
    that enclose the entries to be closed by what followed the last one, so the document
    stays well-formed. The last entry may be an empty element (`<item/>`) and names may
    be in any case, as feedparser reads them. A start tag inside CDATA or a comment can
    misplace the cut: the feed then reads as ill-formed (degraded), still bounded.
    """
    # Every entry starts with "<": most feeds stop at this count, without a lower-case copy.
    if data.count(b"<") <= max_entries:
        return data, 0
    # Every match contains one of these words, in any case.
    lowered = data.lower()
    if lowered.count(b"item") + lowered.count(b"entry") <= max_entries:
        return data, 0
    cut, total, last = -1, 0, None
    for m in _ENTRY_START.finditer(data):
        total += 1
        if total == max_entries + 1:
            cut = m.start()
        last = m
    if cut < 0 or last is None:
        return data, 0
    name = last.group()[1:-1].lower()
    tag_end = data.find(b">", last.end() - 1)
    if tag_end > 0 and data[tag_end - 1 : tag_end] == b"/":
        # The last entry is an empty element (`<item/>`): it ends with its start tag.
        return data[:cut] + data[tag_end + 1 :], total
    end = len(data)
    while True:  # the end tag of the last entry: `</item>`, not `</items>`
        end = lowered.rfind(b"</" + name, cut, end)
        if end < 0:
            # No end to find: the entries past the cap go with the rest of the document,
            # which then reads as ill-formed (degraded) but is never parsed whole.
            return data[:cut], total
        after = end + 2 + len(name)
        if data[after : after + 1] in (b">", b" ", b"\t", b"\r", b"\n"):
            break
    close = data.find(b">", after)
    if close < 0:
        return data[:cut], total
    return data[:cut] + data[close + 1 :], total


def _strip_declaration(data: bytes) -> bytes:
    body = data.lstrip()
    if body.startswith(b"<?xml"):
        end = body.find(b"?>")
        body = body[end + 2 :].lstrip() if end >= 0 else body
    return body


def _build(
    parsed: Any,
    data: bytes,
    url: str,
    now: datetime,
    max_entries: int,
    encoding_issue: str | None,
    total: int = 0,
) -> ParsedFeed:
    version = parsed.get("version") or ""
    entries_raw = parsed.get("entries") or []
    exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not version and not entries_raw and _empty_rdf_channel(parsed):
        version = "rss090"
    if not version and not entries_raw:
        head = data[:8192].decode("utf-8", "replace")
        if _HTML_START.search(head):
            raise ParseError("not a feed (an HTML page)", url=url, kind="not_a_feed")
        detail = f" ({type(exc).__name__}: {str(exc)[:200]})" if exc is not None else ""
        raise ParseError(
            f"not a feed: no RSS, Atom or RDF document found{detail}", url=url, kind="not_a_feed"
        )
    reasons = []
    if exc is not None and type(exc).__name__ not in _BENIGN_BOZO:
        reasons.append(f"ill-formed feed ({type(exc).__name__}: {str(exc)[:200]})")
    if encoding_issue:
        reasons.append(encoding_issue)
    total = max(total, len(entries_raw))  # entries cut before parsing count too
    if total > max_entries:
        reasons.append(f"only the first {max_entries} of {total} entries read")
        entries_raw = entries_raw[:max_entries]
    feed = parsed.get("feed") or {}
    # feedparser resolved links against xml:base; what is still relative resolves against
    # the document's URL, or for a local file (no URL) against the feed's own link.
    doc_url = without_secrets(url) if _HTTP.match(url) else None
    link = safe_link(_str(feed.get("link")) or _alternate(feed), doc_url)
    result = ParsedFeed(
        title=plain_text(_str(feed.get("title")), MAX_TITLE),
        link=link,
        degraded_reason="; ".join(reasons) or None,
        update_seconds=_update_seconds(feed),
    )
    scope = canonical_link(link) if link else url
    result.entries = [_entry(raw, now, scope, doc_url or link) for raw in entries_raw]
    return result


def _alternate(feed: Any) -> str:
    """An `atom:link rel="alternate"` whose prefix was never declared: the lenient parser
    keeps it as `atom_link` instead of reading it as the feed's link."""
    atom = feed.get("atom_link")
    if isinstance(atom, dict) and atom.get("rel", "alternate") == "alternate":
        return _str(atom.get("href"))
    return ""


def _empty_rdf_channel(parsed: Any) -> bool:
    """An RDF document whose default namespace is an RSS channel's, with no item yet."""
    namespaces = parsed.get("namespaces") or {}
    return "rdf" in namespaces and namespaces.get("") in _RDF_CHANNELS


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _body(raw: Any) -> tuple[str, str, str]:
    """The richest of content and summary, with its media type and xml:base (or "")."""
    best_value, best_type, best_base = "", "text/html", ""
    for c in raw.get("content") or []:
        value = _str(c.get("value"))
        if len(value) > len(best_value):
            best_value, best_type = value, _str(c.get("type")) or "text/html"
            best_base = _str(c.get("base"))
    summary = _str(raw.get("summary"))
    if len(summary) > len(best_value):
        detail = raw.get("summary_detail") or {}
        best_value, best_type = summary, _str(detail.get("type")) or "text/html"
        best_base = _str(detail.get("base"))
    return best_value, best_type, best_base


def _content_base(xml_base: str, fragment: str, base: str | None) -> str | None:
    """The absolute base for relative links in a fragment: its xml:base, else `base`."""
    # A fragment without links needs no base of its own (one cleaner per base is built).
    if not xml_base or "href" not in fragment.lower():
        return base
    return safe_link(xml_base, base) or base


def _entry(raw: Any, now: datetime, scope: str, base: str | None) -> Entry:
    """One entry; `base` resolves what xml:base left relative (document URL or feed link)."""
    title = plain_text(_str(raw.get("title")), MAX_TITLE)
    link = safe_link(_str(raw.get("link")), base)
    fragment, media_type, xml_base = _body(raw)
    fragment = clean_text(fragment)
    if media_type == "text/plain":
        summary_html = html.escape(fragment)
        summary_html = _JS_SCHEME.sub(r"\1&#58;", summary_html)
        text = plain_text(fragment)
    else:
        summary_html = sanitize_html(fragment, _content_base(xml_base, fragment, base) or link)
        # From the sanitised HTML: scripts, styles and comments are gone with their text.
        text = plain_text(summary_html)
    raw_id = raw.get("id")
    entry_id = clean_text(str(raw_id).strip(), MAX_ID) if raw_id else ""
    published = _date(raw, now)
    # The key comes from what the feed gave, so a stand-in title never changes it.
    key = entry_key(entry_id or None, link, title, text, scope)
    if not title:
        title = stand_in_title(text, link)[:MAX_TITLE]
    return Entry(
        key=key,
        title=title,
        link=link,
        entry_id=defang(entry_id) or None,
        summary_html=summary_html,
        text=text,
        published=published,
        published_estimated=published is None,
        content_hash=content_hash(title, text),
    )
