"""News-search feed URLs for a set of names and subject phrases (pure).

Google News and Bing News both answer a search with an RSS feed. A query asks for any
of the names together with any of the subject phrases, each phrase quoted, so
"Amazon" or "AWS" next to "facial recognition" or "Rekognition" is found without
hunting for an outlet's own feeds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

GOOGLE_NEWS = "https://news.google.com/rss/search"
BING_NEWS = "https://www.bing.com/news/search"
MAX_NAMES = 4
MAX_TERMS = 4


@dataclass(frozen=True)
class SuggestedFeed:
    provider: str
    name: str
    url: str
    query: str


def _covered(phrase: str, chosen: list[str]) -> bool:
    # "Amazon.com Inc." adds nothing to a search that already asks for "Amazon".
    words = re.findall(r"\w+", phrase.casefold())
    for c in chosen:
        have = re.findall(r"\w+", c.casefold())
        if have and words[: len(have)] == have:
            return True
    return False


def _phrases(values: Sequence[str], limit: int) -> list[str]:
    out: list[str] = []
    for v in values:
        phrase = " ".join(v.replace('"', " ").split())
        if phrase and not _covered(phrase, out):
            out.append(phrase)
    return out[:limit]


def _any_of(phrases: list[str]) -> str:
    quoted = [f'"{p}"' for p in phrases]
    return quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")"


def search_query(names: Sequence[str], terms: Sequence[str]) -> str:
    """`("Name" OR "Alias") ("term one" OR "term two")`: any name with any term."""
    name_phrases = _phrases(names, MAX_NAMES)
    if not name_phrases:
        raise ValueError("at least one company name is needed")
    term_phrases = _phrases(terms, MAX_TERMS)
    parts = [_any_of(name_phrases)]
    if term_phrases:
        parts.append(_any_of(term_phrases))
    return " ".join(parts)


def google_news_url(query: str) -> str:
    return (
        GOOGLE_NEWS
        + "?"
        + urlencode({"q": query, "hl": "en-US", "gl": "US", "ceid": "US:en"}, safe=":")
    )


def bing_news_url(query: str) -> str:
    return BING_NEWS + "?" + urlencode({"q": query, "format": "rss"})


def news_search_feeds(
    names: Sequence[str], terms: Sequence[str], *, label: str = ""
) -> list[SuggestedFeed]:
    """A Google News and a Bing News RSS search for any name with any subject phrase."""
    query = search_query(names, terms)
    label = label or query
    return [
        SuggestedFeed("google-news", f"Google News: {label}", google_news_url(query), query),
        SuggestedFeed("bing-news", f"Bing News: {label}", bing_news_url(query), query),
    ]
