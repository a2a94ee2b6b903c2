"""Full-text search over stored articles: SQLite FTS5 and PostgreSQL, same answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from feeds.models import Article
from monitor.query.filters import UnknownFilterValue
from monitor.query.search import (
    FTS_TABLE,
    count_articles,
    quote_terms,
    search_articles,
    split_marks,
)
from monitor.store.db import Database, open_database
from tests.monitor.querydata import AMAZON, load_sample

TRIBUNAL = "employment tribunal"


@pytest.fixture
def sample(db: Database) -> Database:
    load_sample(db)
    return db


def _titles(db: Database, q: str, **kw) -> list[str]:
    with db.session() as s:
        return [h["title"] for h in search_articles(s, q, **kw)]


def test_two_words_find_the_tribunal_report_with_marked_matches(sample: Database):
    with sample.session() as s:
        hits = search_articles(s, "tribunal police")
        total = count_articles(s, "tribunal police")
    assert hits and total == len(hits)
    assert any("Rekognition" in h["title"] or "Amazon" in h["title"] for h in hits)
    for h in hits:
        words = [h["snippet"][a:b].lower() for a, b in h["snippet_marks"]]
        words += [h["title"][a:b].lower() for a, b in h["title_marks"]]
        assert words and all(w.startswith(("tribunal", "police")) for w in words)
    flagged = [h for h in hits if h["flags"]]
    assert any(f["pledge_id"] == AMAZON for h in flagged for f in h["flags"])


def test_filters_by_company_pledge_and_dates(sample: Database):
    everything = _titles(sample, "police")
    amazon = _titles(sample, "police", company="AWS")
    pledge = _titles(sample, "police", pledge=AMAZON)
    recent = _titles(sample, "police", since=date(2024, 1, 1))
    old = _titles(sample, "police", until=date(2023, 12, 31))
    assert set(amazon) < set(everything) and amazon
    assert set(pledge) <= set(amazon) and pledge
    assert sorted(recent + old) == sorted(everything)
    with pytest.raises(UnknownFilterValue, match="no company 'No Such Company'"):
        _titles(sample, "police", company="No Such Company")


def test_pagination_walks_every_match_once(sample: Database):
    with sample.session() as s:
        total = count_articles(s, "company")
        seen = [
            h["id"]
            for o in range(0, total, 3)
            for h in search_articles(s, "company", limit=3, offset=o)
        ]
    assert total > 6 and len(seen) == len(set(seen)) == total


@pytest.mark.parametrize(
    "query",
    [
        '"unterminated',
        "AND",
        "police AND",
        "NEAR(",
        "title:",
        "*",
        "^",
        "a OR",
        "self-imposed",
        "'; DROP TABLE articles; --",
        "\x00police",
        "(((",
        '"""',
        "-",
    ],
)
def test_any_user_input_is_answered_never_an_error(sample: Database, query: str):
    with sample.session() as s:
        hits = search_articles(s, query)
        assert count_articles(s, query) >= len(hits)
    with sample.session() as s:
        assert s.exec(select(Article)).first() is not None


def test_hyphenated_words_are_found(sample: Database):
    assert any(
        "moratorium" in t.lower() or "pause" in t.lower()
        for t in _titles(sample, "self-imposed moratorium")
    )


def test_the_index_follows_article_updates_and_deletes(sample: Database):
    with sample.write() as s:
        art = s.exec(select(Article).order_by(Article.id)).first()
        assert art is not None
        art.text = art.text + " zanzibarian marmalade"
        s.add(art)
    assert len(_titles(sample, "zanzibarian marmalade")) == 1
    with sample.write() as s:
        art = s.get(Article, art.id)
        assert art is not None
        art.text = "nothing left"
        s.add(art)
    assert _titles(sample, "zanzibarian") == []


def test_an_existing_sqlite_file_without_the_index_gets_it_filled(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = open_database(url)
    load_sample(db)
    with db.engine.begin() as conn:
        for trigger in ("ai", "ad", "au"):
            conn.execute(text(f"DROP TRIGGER {FTS_TABLE}_{trigger}"))
        conn.execute(text(f"DROP TABLE {FTS_TABLE}"))
    db.dispose()
    again = open_database(url)
    try:
        assert len(_titles(again, TRIBUNAL)) >= 1
    finally:
        again.dispose()


def test_marks_and_quoting_helpers():
    assert split_marks("a \ue000b\ue001 c") == ("a b c", [(2, 3)])
    assert quote_terms('say "hi" OR bye') == '"say" "hi" "OR" "bye"'
