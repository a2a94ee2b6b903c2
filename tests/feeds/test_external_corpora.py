"""Other feed parsers' test corpora: what their suites expect, we read the same.

Every input of gofeed's, rss-parser's and Miniflux's test data (../shared/feeds-corpora,
see its SOURCES.md) goes through `feeds.parse.parse` as bytes, as ingest passes a file.
Each either parses or is refused with a named error kind; nothing else may escape. What
the other suite expects (entry count, titles, links, dates, feed title and link) must
match, except for the differences listed in ALLOWED, each with its reason: a new
difference fails, and so does a listed one that no longer occurs.

`python scripts/feed_conformance.py` prints the figures per corpus.
"""

from __future__ import annotations

import pytest

from tests.feeds.corpora import CORPORA, Case, differences, load_cases, run

if not CORPORA.is_dir():
    pytest.skip(f"no corpora at {CORPORA} (CI has them)", allow_module_level=True)

ERROR_KINDS = {"empty", "unsafe_xml", "unsupported_format", "not_a_feed", "parse_crash"}

# Deliberate differences ---------------------------------------------------------------

# Titles are stored as plain text, whatever their type: tags are removed (with their
# entities decoded) where the others keep the markup, or its escaped form, as given.
PLAIN_TITLES = "titles are plain text: markup removed, entities decoded"
# Escaped markup in an HTML title (`&lt;tag&gt;`) is decoded, then removed as a tag.
ESCAPED_MARKUP = "escaped markup in an HTML title is decoded and removed as markup"
# Miniflux makes a title for an untitled entry from its link, summary or content; an
# untitled entry here stays untitled.
NO_TITLE = "an entry without a title stays untitled (Miniflux makes one up)"
# Relative links resolve against the document's address (for a file: the feed's link).
RELATIVE_LINKS = "relative links are made absolute"
# Stored text never carries `javascript:`; the word stays searchable as `javascript :`.
DEFANGED = "'javascript:' in text becomes 'javascript :'"
NOT_A_FEED = "not a feed: refused with a named kind"

# Known gaps, not fixed: feedparser's reading of ill-formed or unusual documents ------

# Mismatched end tag (</subtitle> closes <title>): the lenient parser loses the title.
MISMATCHED_TITLE = "ill-formed title element: the lenient parser loses it"
# A bare `&copy=2` is ill-formed XML; the lenient parser decodes it as HTML would (©).
BARE_LEGACY_ENTITY = "ill-formed '&copy=2': the lenient parser decodes it as HTML"

ALLOWED: dict[str, tuple[frozenset[str], str]] = {}


def allow(reason: str, tokens: str | list[str], *case_ids: str) -> None:
    """Record that each case differs in exactly `tokens`, for `reason`."""
    wanted = frozenset([tokens] if isinstance(tokens, str) else tokens)
    for case_id in case_ids:
        assert case_id not in ALLOWED, f"{case_id} listed twice"
        ALLOWED[case_id] = (wanted, reason)


def indexed(token: str, count: int) -> list[str]:
    return [f"{token}[{i}]" for i in range(count)]


GO_ATOM = "gofeed/testdata/parser/atom/"
GO_RSS = "gofeed/testdata/parser/rss/"
MF = "miniflux/inline/"

allow(
    PLAIN_TITLES,
    "title[0]",
    *(
        GO_ATOM + f"{v}_feed_entry_title_{kind}"
        for v in ("atom03", "atom10")
        for kind in (
            "base64_escaped_markup",
            "html_escaped_markup",
            "xhtml_escaped_markup",
            "xhtml_inline_markup",
        )
    ),
    GO_ATOM + "atom03_feed_entry_title_naked_markup",
    GO_ATOM + "atom10_feed_entry_title_base64",
    GO_ATOM + "entry_summary_xml_base_inherit_3",
    GO_ATOM + "entry_title_xml_base",
    GO_ATOM + "entry_title_xml_base_inherit",
    *(
        GO_RSS + f"{kind}_title_{markup}"
        for kind in ("rdf_item", "rss_channel_item")
        for markup in (
            "cdata_escaped_markup",
            "cdata_naked_markup",
            "escaped_markup",
            "naked_markup",
        )
    ),
    MF + "atom_10/TestParseEntryWithXHTMLTitle",
    # Miniflux keeps an HTML title's references: '&#39;AT&amp;T&#39;' is "'AT&T'" here.
    MF + "atom_10/TestParseEntryWithDoubleEncodedEntitiesTitle",
)
allow(
    PLAIN_TITLES,
    "feed.title",
    *(
        GO_ATOM + f"{v}_feed_title_{kind}"
        for v in ("atom03", "atom10")
        for kind in ("base64_escaped_markup", "html_escaped_markup")
    ),
    *(
        GO_ATOM + f"atom03_feed_title_{kind}"
        for kind in ("naked_markup", "xhtml_escaped_markup", "xhtml_inline_markup")
    ),
    GO_ATOM + "atom10_feed_title_base64",
    GO_ATOM + "feed_title_xml_base",
    GO_ATOM + "feed_title_xml_base_cdata",
    GO_ATOM + "feed_title_xml_base_inherit",
    GO_ATOM + "feed_title_xml_base_inherit_2",
    GO_ATOM + "relative_uri",
    GO_ATOM + "relative_uri_inherit",
    GO_ATOM + "relative_uri_inherit_2",
    *(
        GO_RSS + f"{kind}_title_{markup}"
        for kind in ("rdf_channel", "rss_channel")
        for markup in (
            "cdata_escaped_markup",
            "cdata_naked_markup",
            "escaped_markup",
            "naked_markup",
        )
    ),
)
# rss-parser keeps these CDATA titles as written: '&#x0024;4300 1bd 1930ft<sup>2</sup>';
# stored: '$4300 1bd 1930ft 2' (every removed tag leaves a space, inside a word too).
allow(PLAIN_TITLES, indexed("title", 25), "rss-parser/test/input/craigslist")
allow(ESCAPED_MARKUP, "title[0]", MF + "rss/TestParseItemTitleWithHTMLEntity")
# title[0] is '&lt;code&gt;Code&lt;/code&gt; Test' (tags once decoded: plain titles);
# title[3] ends in '&lt;tag&gt;', which is removed with nothing left in its place.
allow(ESCAPED_MARKUP, ["title[0]", "title[3]"], MF + "atom_10/TestParseEntryWithHTMLTitle")
allow(
    NO_TITLE,
    "title[0]",
    MF + "atom_03/TestParseAtom03WithoutEntryTitleButWithLink",
    MF + "atom_03/TestParseAtom03WithoutEntryTitleButWithSummary",
    MF + "atom_03/TestParseAtom03WithoutEntryTitleButWithXMLContent",
    MF + "atom_10/TestParseEntryWithEmptyXHTMLTitle",
    MF + "atom_10/TestParseEntryWithoutTitleButWithSummary",
    MF + "atom_10/TestParseEntryWithoutTitleButWithURL",
    MF + "atom_10/TestParseEntryWithoutTitleButWithXHTMLContent",
    MF + "rss/TestParseEntryWithRelativeURL",
    MF + "rss/TestParseEntryWithoutTitleAndDescription",
    MF + "rss/TestParseEntryWithoutTitleButWithDescription",
)
# rss-parser gives '/gulpjs/gulp/releases/tag/v3.9.0'; stored: 'https://github.com/...'.
allow(RELATIVE_LINKS, indexed("link", 10), "rss-parser/test/input/gulp-atom")
# 'Patterns und Best Practices in JavaScript: Typüberprüfungen continued'.
allow(DEFANGED, "title[9]", "rss-parser/test/input/heise")
allow(NOT_A_FEED, "error:empty", "gofeed/testdata/parser/universal/empty_feed")
allow(
    NOT_A_FEED,
    "error:not_a_feed",
    "gofeed/testdata/parser/universal/unknown_feed",
    "rss-parser/test/input/unrecognized",
    # XML documents that are not feeds (Miniflux's XML decoder tests: a <note>).
    "miniflux/internal/reader/xml/testdata/iso88591",
    "miniflux/internal/reader/xml/testdata/iso88591_utf8_mismatch",
)
allow(
    MISMATCHED_TITLE,
    "feed.title",
    GO_ATOM + "atom10_feed_title_xhtml_escaped_markup",
    GO_ATOM + "atom10_feed_title_xhtml_inline_markup",
)
allow(BARE_LEGACY_ENTITY, "feed.title", GO_RSS + "issue_320_legacy_entity_prefix")

# Inputs that are not well-formed XML: read by the lenient parser and marked degraded.
# Any other input marked degraded fails (a well-formed feed must read cleanly).
UNBOUND_PREFIX = "a namespace prefix (atom:, media:, itunes:) is never declared"
MISMATCHED_TAG = "an end tag does not match its start tag"
HTML_ENTITY = "an HTML entity (&nbsp;) that XML does not define"
BAD_TOKEN = "a bare '&' or an invalid character reference"
ILL_FORMED = {
    "gofeed/testdata/extensions/itunes/itunes_item_summary_cdata_multi": UNBOUND_PREFIX,
    "gofeed/testdata/extensions/media/feed_image_-_rss_channel_media": UNBOUND_PREFIX,
    "gofeed/testdata/extensions/media/feed_item_image_-_rss_channel_item_media": UNBOUND_PREFIX,
    "gofeed/testdata/translator/rss/feed_item_image_-_rss_channel_item_content": UNBOUND_PREFIX,
    "gofeed/testdata/translator/rss/feed_link_-_rss_channel_atom_link": UNBOUND_PREFIX,
    "gofeed/testdata/translator/rss/feed_link_-_rss_channel_atom_link_alternate": UNBOUND_PREFIX,
    "gofeed/testdata/translator/rss/feed_link_-_rss_channel_itunes_subtitle": UNBOUND_PREFIX,
    GO_ATOM + "atom10_feed_entry_source_logo": MISMATCHED_TAG,
    GO_ATOM + "atom10_feed_entry_source_title_html_escaped_markup": MISMATCHED_TAG,
    GO_ATOM + "atom10_feed_entry_source_title_text": MISMATCHED_TAG,
    GO_ATOM + "atom10_feed_title_xhtml_escaped_markup": MISMATCHED_TAG,
    GO_ATOM + "atom10_feed_title_xhtml_inline_markup": MISMATCHED_TAG,
    GO_RSS + "rss_channel_language": MISMATCHED_TAG,
    MF + "atom_10/TestParseEntryWithDuplicateEnclosureURL": MISMATCHED_TAG,
    MF + "atom_10/TestParseEntryWithRelativeEnclosureURL": MISMATCHED_TAG,
    GO_RSS + "issue_305_bare_ampersand": BAD_TOKEN,
    GO_RSS + "issue_320_legacy_entity_prefix": BAD_TOKEN,
    MF + "atom_10/TestParseWithInvalidCharacterEntity": BAD_TOKEN,
    MF + "rdf/TestParseFeedWithInvalidCharacterEntity": BAD_TOKEN,
    MF + "rss/TestParseFeedLinkWithInvalidCharacterEntity": BAD_TOKEN,
    # expat's namespace processing refuses xmlns:itunes=" http://..." (leading space).
    GO_RSS + "issue_309_namespace_whitespace": "a namespace URI with surrounding spaces",
    MF + "atom_10/TestParseWithHTMLEntity": HTML_ENTITY,
    MF + "rdf/TestParseFeedWithHTMLEntity": HTML_ENTITY,
    MF + "rss/TestParseFeedTitleWithHTMLEntity": HTML_ENTITY,
}

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_input_reads_as_its_parser_expects_or_as_listed(case: Case) -> None:
    outcome = run(case)  # anything but a ParseError escaping fails here
    if outcome.error is not None:
        assert outcome.error in ERROR_KINDS
    else:
        assert outcome.feed is not None
        degraded = outcome.feed.degraded_reason
        assert (degraded is not None) == (case.id in ILL_FORMED), degraded
    found = differences(case, outcome)
    allowed, reason = ALLOWED.get(case.id, (frozenset(), ""))
    assert set(found) == allowed, (
        f"{case.id}: differs in {sorted(found)}, listed {sorted(allowed)} ({reason or '-'}): "
        + "; ".join(f"{k}: {v}" for k, v in sorted(found.items()))[:2000]
    )


def test_the_allow_list_names_only_cases_that_exist() -> None:
    assert sorted((set(ALLOWED) | set(ILL_FORMED)) - {c.id for c in CASES}) == []


def test_every_corpus_has_inputs_and_expectations() -> None:
    for corpus in ("gofeed", "rss-parser", "miniflux"):
        cases = [c for c in CASES if c.corpus == corpus]
        assert cases, corpus
        assert any(c.expected is not None for c in cases), corpus
