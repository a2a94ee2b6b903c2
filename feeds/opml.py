"""OPML read and write (pure): subscriptions lists from and for other feed readers.

Reading accepts what common readers export (Miniflux, FreshRSS, Feedly, and plain
hand-written files): feeds are outlines with an `xmlUrl` (any letter case), folders are
the outlines around them, nested folders become a path joined with "/". Writing groups
feeds by that path again, so an export reads back to the same list.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.parsers import expat

from feeds.errors import FeedError

MAX_OPML_BYTES = 10_000_000
# Subscription lists hold hundreds of feeds; a cap keeps a hostile file from costing
# a DNS lookup and a row for each of 100,000 outlines. Callers may raise it.
MAX_OUTLINES = 10_000
# Folders in folders: real readers nest two or three deep.
MAX_DEPTH = 50


class OpmlError(FeedError):
    kind = "bad_opml"


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription: its feed URL, title, site and folder path."""

    url: str
    title: str = ""
    site_url: str | None = None
    category: str | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _attr(el: ET.Element, name: str) -> str:
    for key, value in el.attrib.items():
        if _local(key) == name:
            return value.strip()
    return ""


def _label(el: ET.Element) -> str:
    return " ".join((_attr(el, "title") or _attr(el, "text")).split())


def read_opml(data: bytes, *, max_outlines: int = MAX_OUTLINES) -> list[OpmlFeed]:
    """The subscriptions in an OPML document, in order, each URL once.

    Raises OpmlError for a document over MAX_OPML_BYTES, with more than `max_outlines`
    outlines (folders count) or nested over MAX_DEPTH deep.
    """
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"OPML file is over {MAX_OPML_BYTES} bytes")
    _refuse_declarations(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from exc
    if _local(root.tag) != "opml":
        raise OpmlError(f"not an OPML document (root element is <{_local(root.tag)}>)")
    body = next((c for c in root if _local(c.tag) == "body"), None)
    if body is None:
        raise OpmlError("OPML document has no <body>")
    seen: set[str] = set()
    out: list[OpmlFeed] = []
    for feed in _walk(body, max_outlines):
        if feed.url not in seen:
            seen.add(feed.url)
            out.append(feed)
    return out


def _refuse_declarations(data: bytes) -> None:
    """Refuse a DTD or entity declaration, however the document is encoded.

    expat reads the declarations only once decoded, so a byte search misses them in a
    UTF-16 file: a 9 MB one expanding an entity within expat's own amplification limit
    grew `feeds import` past 1 GB. This pass stops at the declaration, before any entity
    is defined; what is not well-formed is left for ElementTree to report.
    """

    def refuse(*_: object) -> None:
        raise OpmlError("OPML declares a DTD or entities (refused: entity expansion risk)")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        pass


def _walk(body: ET.Element, max_outlines: int) -> Iterator[OpmlFeed]:
    """Feeds in document order; a stack, not recursion, so no depth can overflow it."""
    outlines = 0
    # Each entry: the children still to visit at one level, and that level's folder path.
    stack: list[tuple[Iterator[ET.Element], tuple[str, ...]]] = [(iter(body), ())]
    while stack:
        children, path = stack[-1]
        el = next(children, None)
        if el is None:
            stack.pop()
            continue
        if _local(el.tag) != "outline":
            continue
        outlines += 1
        if outlines > max_outlines:
            raise OpmlError(f"OPML file has over {max_outlines} outlines")
        url = _attr(el, "xmlurl")
        if url:
            # Some readers also name the folder in a `category` attribute ("/News,/Tech").
            category = "/".join(path) if path else _category_attr(el)
            yield OpmlFeed(
                url=url,
                title=_label(el),
                site_url=_attr(el, "htmlurl") or None,
                category=category or None,
            )
        if len(el):
            if len(stack) > MAX_DEPTH:
                raise OpmlError(f"OPML outlines are nested over {MAX_DEPTH} deep")
            label = _label(el)
            stack.append((iter(el), (*path, label) if label and not url else path))


def _category_attr(el: ET.Element) -> str:
    value = _attr(el, "category").split(",")[0].strip().strip("/")
    return "/".join(p.strip() for p in value.split("/") if p.strip())


def write_opml(
    feeds: Sequence[OpmlFeed],
    *,
    title: str = "pledgewatch subscriptions",
    now: datetime | None = None,
) -> bytes:
    """An OPML 2.0 document: feeds grouped into (nested) folder outlines by category."""
    now = now or datetime.now(UTC)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}

    def folder(path: tuple[str, ...]) -> ET.Element:
        el = folders.get(path)
        if el is None:
            parent = folder(path[:-1])
            el = ET.SubElement(parent, "outline", text=path[-1], title=path[-1])
            folders[path] = el
        return el

    for f in feeds:
        path = tuple(p.strip() for p in (f.category or "").split("/") if p.strip())
        attrs = {
            "type": "rss",
            "text": f.title or f.url,
            "title": f.title or f.url,
            "xmlUrl": f.url,
        }
        if f.site_url:
            attrs["htmlUrl"] = f.site_url
        ET.SubElement(folder(path), "outline", attrs)
    ET.indent(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out + b"\n"
