"""News-search feed URLs: quoted phrases, any name with any subject term."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from feeds.suggest import news_search_feeds, search_query


def test_the_query_asks_for_any_name_with_any_subject_phrase_quoted() -> None:
    query = search_query(["Amazon", "AWS", "amazon"], ["facial recognition", "Rekognition"])
    assert query == '("Amazon" OR "AWS") ("facial recognition" OR "Rekognition")'
    assert search_query(["IBM"], ["facial recognition"]) == '"IBM" "facial recognition"'
    assert search_query(["IBM"], []) == '"IBM"'


def test_names_already_covered_by_a_shorter_one_are_left_out() -> None:
    query = search_query(["Amazon", "Amazon.com", "Amazon.com Inc.", "AWS", "Amazonia"], ["x"])
    assert query == '("Amazon" OR "AWS" OR "Amazonia") "x"'


def test_quotes_inside_terms_cannot_break_the_phrases() -> None:
    query = search_query(['Acme "Corp"'], ['say "no"   more'])
    assert query == '"Acme Corp" "say no more"'


def test_long_lists_are_cut_to_keep_the_search_focused() -> None:
    query = search_query([f"Name{i}" for i in range(9)], [f"term {i}" for i in range(9)])
    assert query.count(" OR ") == 6


def test_a_name_is_required() -> None:
    with pytest.raises(ValueError, match="company name"):
        search_query([" "], ["x"])


def test_google_and_bing_news_rss_urls_carry_the_query() -> None:
    google, bing = news_search_feeds(
        ["Amazon", "AWS"], ["facial recognition"], label="Amazon / rekognition"
    )
    g = urlsplit(google.url)
    assert (g.scheme, g.netloc, g.path) == ("https", "news.google.com", "/rss/search")
    assert parse_qs(g.query) == {
        "q": ['("Amazon" OR "AWS") "facial recognition"'],
        "hl": ["en-US"],
        "gl": ["US"],
        "ceid": ["US:en"],
    }
    b = urlsplit(bing.url)
    assert (b.scheme, b.netloc, b.path) == ("https", "www.bing.com", "/news/search")
    assert parse_qs(b.query) == {
        "q": ['("Amazon" OR "AWS") "facial recognition"'],
        "format": ["rss"],
    }
    assert google.url == (
        "https://news.google.com/rss/search?q=%28%22Amazon%22+OR+%22AWS%22%29+"
        "%22facial+recognition%22&hl=en-US&gl=US&ceid=US:en"
    )
    assert google.name == "Google News: Amazon / rekognition"
    assert bing.provider == "bing-news"
