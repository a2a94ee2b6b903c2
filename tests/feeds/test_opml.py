"""OPML: read what common readers export, write what reads back the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.opml import OpmlError, OpmlFeed, read_opml, write_opml

DATA = Path(__file__).resolve().parents[1] / "data" / "opml"


def test_a_miniflux_export_is_read_with_its_categories() -> None:
    feeds = read_opml((DATA / "miniflux.opml").read_bytes())
    assert feeds == [
        OpmlFeed(
            "https://climate.example.org/feed.xml",
            "Climate Desk",
            "https://climate.example.org/",
            "Climate",
        ),
        OpmlFeed(
            "https://carbon.example.net/rss",
            "Carbon Brief Example",
            "https://carbon.example.net/",
            "Climate",
        ),
        OpmlFeed(
            "https://techpolicy.example.org/atom.xml",
            "Tech Policy Weekly",
            "https://techpolicy.example.org/",
            "Tech policy",
        ),
    ]


def test_a_freshrss_export_with_its_namespace_is_read() -> None:
    feeds = read_opml((DATA / "freshrss.opml").read_bytes())
    assert [(f.title, f.category) for f in feeds] == [
        ("Business Daily", "Uncategorized"),
        ("Supply Chain Watch", "Labour"),
        ("Wages & Work", "Labour"),
    ]
    assert feeds[0].url == "https://business.example.com/feed/"


def test_a_feedly_export_lists_a_feed_in_two_categories_once() -> None:
    feeds = read_opml((DATA / "feedly.opml").read_bytes())
    assert [f.url for f in feeds] == [
        "https://esg.example.com/rss.xml",
        "https://climate.example.org/feed.xml",
    ]
    assert feeds[1].category == "ESG"


def test_nested_folders_become_a_path_and_links_are_not_feeds() -> None:
    feeds = read_opml((DATA / "nested.opml").read_bytes())
    assert [(f.url, f.category) for f in feeds] == [
        ("https://top.example.org/feed", None),
        ("https://brussels.example.eu/rss", "News/Europe"),
        ("https://world.example.org/rss", "News"),
    ]


@pytest.mark.parametrize("name", ["miniflux.opml", "freshrss.opml", "feedly.opml", "nested.opml"])
def test_an_export_reads_back_to_the_same_subscriptions(name: str) -> None:
    feeds = read_opml((DATA / name).read_bytes())
    again = read_opml(write_opml(feeds, now=datetime(2024, 6, 4, tzinfo=UTC)))
    assert again == feeds


def test_written_opml_has_the_shape_readers_expect() -> None:
    out = write_opml(
        [OpmlFeed("https://a.example.org/rss?x=1&y=2", "A <b>", None, "News/Tech")],
        title="mine",
        now=datetime(2024, 6, 4, tzinfo=UTC),
    )
    text = out.decode()
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>")
    assert '<opml version="2.0">' in text
    assert "<dateCreated>Tue, 04 Jun 2024 00:00:00 GMT</dateCreated>" in text
    assert 'xmlUrl="https://a.example.org/rss?x=1&amp;y=2"' in text
    assert 'text="A &lt;b&gt;"' in text
    # News > Tech nesting.
    assert text.index('text="News"') < text.index('text="Tech"') < text.index("xmlUrl")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<rss><channel/></rss>", "not an OPML document"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"<opml><body><outline", "not well-formed"),
        (b'<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>', "entity"),
    ],
)
def test_bad_opml_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        read_opml(data)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-16-le"])
def test_a_dtd_is_refused_in_any_encoding_before_any_entity_expands(encoding: str) -> None:
    # In UTF-16 the declaration's bytes are <\0!\0D\0...: a byte search misses them, and
    # expat's own amplification limit still let 9 MB grow to 1 GB.
    xml_name = encoding.split("-")[0].upper() + "-" + encoding.split("-")[1].upper()
    text = (
        f'<?xml version="1.0" encoding="{xml_name}"?>'
        f'<!DOCTYPE opml [<!ENTITY a "{"x" * 1000}">]>'
        f'<opml version="2.0"><body><outline text="{"&a;" * 50}" '
        'xmlUrl="https://a.example.org/rss"/></body></opml>'
    )
    data = text.encode(encoding)
    with pytest.raises(OpmlError, match="^OPML declares a DTD or entities"):
        read_opml(data)


def flat(n: int) -> bytes:
    body = "".join(
        f'<outline text="f{i}" xmlUrl="https://f{i}.example.org/rss"/>' for i in range(n)
    )
    return f"<opml version='2.0'><body>{body}</body></opml>".encode()


def test_outlines_past_the_cap_refuse_the_file_naming_the_cap() -> None:
    assert len(read_opml(flat(10_000))) == 10_000
    with pytest.raises(OpmlError, match="^OPML file has over 10000 outlines$"):
        read_opml(flat(10_001))
    with pytest.raises(OpmlError, match="over 5 outlines"):
        read_opml(flat(6), max_outlines=5)


def test_outlines_nested_a_hundred_thousand_deep_are_an_error_not_a_recursion_error() -> None:
    deep = b"<opml><body>" + b'<outline text="a">' * 100_000 + b"</outline>" * 100_000
    deep += b"</body></opml>"
    with pytest.raises(OpmlError, match="^OPML outlines are nested over 50 deep$"):
        read_opml(deep)
    with pytest.raises(OpmlError, match="nested over 50 deep"):
        read_opml(deep, max_outlines=1_000_000)
