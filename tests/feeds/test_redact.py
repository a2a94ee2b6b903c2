"""Secrets in URLs are masked by one rule before anything shows them."""

from __future__ import annotations

import pytest

from feeds.redact import redact_text, redact_url, without_secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:s3cret@example.org/feed", "https://alice:********@example.org/feed"),
        ("https://:s3cret@example.org/feed", "https://:********@example.org/feed"),
        (
            "https://example.org/rss?apikey=s3cret&q=x",
            "https://example.org/rss?apikey=********&q=x",
        ),
        (
            "https://example.org/rss?q=x&API_KEY=s3cret",
            "https://example.org/rss?q=x&API_KEY=********",
        ),
        ("https://e.org/?access_token=s3cret#x", "https://e.org/?access_token=********#x"),
        ("https://e.org/?X-Amz-Signature=s3cret", "https://e.org/?X-Amz-Signature=********"),
        ("https://e.org/?sig=s3cret&se=2030", "https://e.org/?sig=********&se=2030"),
        ("https://e.org/cb#access_token=s3cret&x=1", "https://e.org/cb#access_token=********&x=1"),
        (
            "https://e.org/p?password=s3cret&passwd=s3cret",
            "https://e.org/p?password=********&passwd=********",
        ),
        (
            "postgresql+psycopg://:s3cret@db:5432/pw?password=s3cret&sslmode=require",
            "postgresql+psycopg://:********@db:5432/pw?password=********&sslmode=require",
        ),
        # What carries no secret is left exactly as it was.
        ("https://news.google.com/rss/search?q=%22Amazon%22&hl=en", None),
        ("https://e.org/rss?keyword=x&monkeys=1", None),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", None),
        ("sqlite:////var/lib/pledgewatch/pledgewatch.db", None),
        ("not a url", None),
    ],
)
def test_redact_url(url: str, shown: str | None) -> None:
    assert redact_url(url) == (shown or url)


def test_urls_inside_text_are_redacted() -> None:
    text = "redirect to 'https://u:s3cret@e.org/x?token=abc' refused (was https://e.org/)"
    assert redact_text(text) == (
        "redirect to 'https://u:********@e.org/x?token=********' refused (was https://e.org/)"
    )


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://alice:s3cret@e.org/feed?apikey=s3cret&lang=en", "https://e.org/feed?lang=en"),
        ("https://e.org/feed?token=s3cret", "https://e.org/feed"),
        ("https://e.org/feed?lang=en", "https://e.org/feed?lang=en"),
    ],
)
def test_the_base_for_relative_links_carries_no_credentials(url: str, base: str) -> None:
    assert without_secrets(url) == base
