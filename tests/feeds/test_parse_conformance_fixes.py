"""Parse bugs found by comparing with other parsers' corpora, each pinned by its case.

Corpus files are read from ../shared/feeds-corpora (skipped when absent); each test also
holds a small document of its own showing the same thing, so it runs everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.errors import ParseError
from feeds.parse import parse
from tests.feeds.corpora import CORPORA

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def corpus_bytes(relative: str) -> bytes:
    path: Path = CORPORA / relative
    if not path.is_file():
        pytest.skip(f"no corpus file {path}")
    return path.read_bytes()


def rss(title: str, encoding: str = "utf-8", lead: bytes = b"") -> bytes:
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>T</title><item><title>{title}</title></item></channel></rss>"
    )
    return lead + doc.encode(encoding)


@pytest.mark.parametrize("lead", [b"\n", b"  \r\n\t"])
def test_whitespace_before_the_xml_declaration_keeps_its_encoding(lead: bytes) -> None:
    # rss-parser's encoding.rss is ISO-8859-1; with a line before its declaration the
    # declaration was ignored (read as Windows-1252 or worse) and the feed marked ill-formed.
    original = corpus_bytes("rss-parser/test/input/encoding.rss")
    plain = parse(original, now=NOW)
    shifted = parse(lead + original, now=NOW)
    assert [e.title for e in shifted.entries] == [e.title for e in plain.entries]
    assert shifted.entries[0].title == "Mãe de utente é a nova presidente da Raríssimas"
    assert shifted.degraded_reason is None


@pytest.mark.parametrize("lead", [b"\n", b"  \r\n\t"])
@pytest.mark.parametrize(
    ("encoding", "title"), [("koi8-r", "Первая новость"), ("windows-1251", "Цитата #17703")]
)
def test_a_declared_single_byte_encoding_counts_after_leading_whitespace(
    lead: bytes, encoding: str, title: str
) -> None:
    feed = parse(rss(title, encoding, lead), now=NOW)
    assert feed.entries[0].title == title
    assert feed.degraded_reason is None


def test_a_byte_order_mark_then_whitespace_then_the_declaration_reads_as_utf8() -> None:
    feed = parse(rss("Café", "utf-8", b"\xef\xbb\xbf\n"), now=NOW)
    assert feed.entries[0].title == "Café"
    assert feed.degraded_reason is None


@pytest.mark.parametrize(
    "relative",
    [
        "miniflux/inline/rss/TestParseRss2Sample.xml",
        "miniflux/inline/rdf/TestParseRDFSample.xml",
        "rss-parser/test/input/itunes-keywords-array.rss",
    ],
)
def test_a_well_formed_feed_indented_before_its_declaration_is_not_degraded(
    relative: str,
) -> None:
    feed = parse(corpus_bytes(relative), now=NOW)
    assert feed.entries
    assert feed.degraded_reason is None


def test_a_legacy_entity_name_without_semicolon_stays_text() -> None:
    # gofeed's issue_320 case, made well-formed ("&amp;copy=2"): the XML text is
    # "?page=1&copy=2;mode=x & done" and was decoded a second time into "©=2".
    doc = corpus_bytes("gofeed/testdata/parser/rss/issue_320_legacy_entity_prefix.xml")
    feed = parse(doc.replace(b"&copy=2", b"&amp;copy=2"), now=NOW)
    assert feed.title == "?page=1&copy=2;mode=x & done"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Fund report ?a=1&amp;region=eu&amp;section=2", "Fund report ?a=1&region=eu&section=2"),
        ("AT&amp;amp;T &amp;#39;pledge&amp;#39; &amp;eacute;t&amp;eacute;", "AT&T 'pledge' été"),
    ],
)
def test_titles_decode_only_complete_character_references(written: str, stored: str) -> None:
    assert parse(rss(written), now=NOW).entries[0].title == stored


@pytest.mark.parametrize(
    "namespace", ["http://channel.netscape.com/rdf/simple/0.9/", "http://purl.org/rss/1.0/"]
)
def test_an_rdf_channel_with_no_item_yet_is_an_empty_feed(namespace: str) -> None:
    # gofeed's version_rdf_090: feedparser recognises RSS 0.90 and 1.0 by their items.
    doc = (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns="{namespace}"></rdf:RDF>'
    ).encode()
    feed = parse(doc, now=NOW)
    assert feed.entries == [] and feed.degraded_reason is None
    # Any other RDF document is still not a feed.
    other = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>'
    with pytest.raises(ParseError) as caught:
        parse(other, now=NOW)
    assert caught.value.kind == "not_a_feed"
    corpus = corpus_bytes("gofeed/testdata/parser/rss/version_rdf_090.xml")
    assert parse(corpus, now=NOW).entries == []


def test_a_link_whose_uri_attribute_is_no_web_address_keeps_its_text() -> None:
    # gofeed's rss_channel_item_uri_at_protocol: feedparser takes the attribute over the text.
    def item(link: str) -> bytes:
        return (
            f'<rss version="2.0"><channel><title>T</title><item><title>A</title>{link}</item>'
            "</channel></rss>"
        ).encode()

    at = item('<link uri="at://did:plc:abc/app.bsky.feed.post/1">http://example.com/a</link>')
    assert parse(at, now=NOW).entries[0].link == "http://example.com/a"
    # A uri attribute that names a web address is still taken, as before.
    web = item('<link uri="https://example.com/b"/>')
    assert parse(web, now=NOW).entries[0].link == "https://example.com/b"
    corpus = corpus_bytes("gofeed/testdata/parser/rss/rss_channel_item_uri_at_protocol.xml")
    assert parse(corpus, now=NOW).entries[0].link == "http://example.com/item"


def test_an_alternate_atom_link_with_an_undeclared_prefix_is_the_feeds_link() -> None:
    # gofeed's feed_link_-_rss_channel_atom_link_alternate: the prefix is never declared, so
    # the lenient parser reads the document and keeps the element under another name.
    def channel(link: str) -> bytes:
        item = "<item><title>A</title></item>"
        return f'<rss version="2.0"><channel>{link}{item}</channel></rss>'.encode()

    alternate = channel('<atom:link href="http://example.org/" rel="alternate" type="text/html"/>')
    feed = parse(alternate, now=NOW)
    assert feed.link == "http://example.org/" and feed.degraded_reason is not None
    # A self link is the feed's own address, not the site it stands for.
    own = channel('<atom:link href="http://example.org/feed" rel="self"/>')
    assert parse(own, now=NOW).link is None
    # A channel link of its own still wins.
    both = channel('<link>http://example.com/</link><atom:link href="http://example.org/"/>')
    assert parse(both, now=NOW).link == "http://example.com/"
