"""Full-text search over stored articles: SQLite FTS5 or PostgreSQL text search.

The index it reads is kept by `monitor.store.fulltext`.

User input never reaches the query language unchecked: on SQLite a query FTS5 cannot
parse is retried with every word quoted as a plain term; PostgreSQL parses input with
`websearch_to_tsquery`, which accepts any text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import DateTime, Executable, bindparam, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from monitor.query.filters import check_pledge, company_terms, end_of_day, start_of_day
from monitor.store.db import as_utc
from monitor.store.fulltext import FTS_TABLE
from monitor.store.models import Flag

log = logging.getLogger(__name__)

# Private-use characters mark matches inside snippets; they become offsets, never HTML.
OPEN_MARK = "\ue000"
CLOSE_MARK = "\ue001"
MAX_QUERY_CHARS = 500
SNIPPET_TOKENS = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")
_PG_VECTOR = "to_tsvector('english', a.title || ' ' || a.text)"


@dataclass(frozen=True)
class SearchQuery:
    """What to look for and where: words, plus the filters of `pledgewatch search`."""

    text: str
    company: str | None = None
    pledge: str | None = None
    since: date | None = None
    until: date | None = None


def clean_query(value: str) -> str:
    """Drop control characters and cap the length of user input."""
    return " ".join(_CONTROL.sub(" ", value).split())[:MAX_QUERY_CHARS]


def quote_terms(value: str) -> str:
    """Every word of `value` as a quoted FTS5 string: no operators, no syntax errors."""
    words = re.findall(r"\w+", value)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def split_marks(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without match markers, and the (start, end) offsets of the marked parts."""
    out: list[str] = []
    marks: list[tuple[int, int]] = []
    pos = 0
    start: int | None = None
    for ch in marked:
        if ch == OPEN_MARK:
            start = pos
        elif ch == CLOSE_MARK:
            if start is not None and pos > start:
                marks.append((start, pos))
            start = None
        else:
            out.append(ch)
            pos += 1
    return "".join(out), marks


def _text(sql: str, params: dict[str, Any], *, rows: bool = False) -> Executable:
    """A text query whose dates are read and bound the way the dialect stores them."""
    stmt = text(sql)
    typed = [bindparam(k, type_=DateTime(timezone=True)) for k in ("since", "until") if k in params]
    if typed:
        stmt = stmt.bindparams(*typed)
    return stmt.columns(published_at=DateTime(timezone=True)) if rows else stmt


def _check(session: Session, q: SearchQuery) -> None:
    """Unknown pledge or company filters raise UnknownFilterValue instead of matching none."""
    if q.pledge:
        check_pledge(session, q.pledge)
    if q.company:
        company_terms(session, q.company)


def _filters(q: SearchQuery, params: dict[str, Any]) -> list[str]:
    where: list[str] = []
    if q.since is not None:
        params["since"] = start_of_day(q.since)
        where.append("a.published_at >= :since")
    if q.until is not None and end_of_day(q.until) is not None:
        params["until"] = end_of_day(q.until)
        where.append("a.published_at < :until")
    if q.pledge:
        params["pledge"] = q.pledge
        where.append(
            "a.id IN (SELECT f.article_id FROM flags f WHERE f.pledge_id = :pledge "
            "AND f.active = :active)"
        )
        params["active"] = True
    return where


def _sqlite_match(session: Session, q: SearchQuery, words: str) -> str | None:
    expr = f"({words})"
    if q.company:
        terms = company_terms(session, q.company)
        if not terms:
            return None
        expr += " AND (" + " OR ".join(_fts_phrase(t) for t in terms) + ")"
    return expr


def _run_sqlite(session: Session, q: SearchQuery, *, count: bool, limit: int, offset: int) -> Any:
    words = clean_query(q.text)
    if not re.search(r"\w", words):
        return None
    for attempt in (words, quote_terms(words)):
        match = _sqlite_match(session, q, attempt)
        if match is None:
            return None
        params: dict[str, Any] = {
            "match": match,
            "limit": limit,
            "offset": offset,
            "o": OPEN_MARK,
            "c": CLOSE_MARK,
        }
        where = [f"{FTS_TABLE} MATCH :match", *_filters(q, params)]
        if count:
            sql = (
                f"SELECT count(*) FROM {FTS_TABLE} JOIN articles a ON a.id = {FTS_TABLE}.rowid "
                f"WHERE {' AND '.join(where)}"
            )
        else:
            sql = (
                f"SELECT a.id, a.url, a.published_at, a.published_estimated, "
                f"highlight({FTS_TABLE}, 0, :o, :c) AS title, "
                f"snippet({FTS_TABLE}, 1, :o, :c, '…', {SNIPPET_TOKENS}) AS snippet "
                f"FROM {FTS_TABLE} JOIN articles a ON a.id = {FTS_TABLE}.rowid "
                f"WHERE {' AND '.join(where)} "
                f"ORDER BY bm25({FTS_TABLE}, 4.0, 1.0), a.id DESC LIMIT :limit OFFSET :offset"
            )
        try:
            result = session.execute(_text(sql, params, rows=not count), params)
            return result.scalar_one() if count else result.all()
        except OperationalError as exc:
            # FTS5 syntax from user input (a stray quote, a bare operator, an unknown
            # column): retry once with every word quoted as a plain term.
            if attempt != words:
                raise
            session.rollback()
            log.debug("search query %r is not FTS5 syntax (%s); quoting its words", words, exc)
    return None


def _run_postgres(session: Session, q: SearchQuery, *, count: bool, limit: int, offset: int) -> Any:
    words = clean_query(q.text)
    if not re.search(r"\w", words):
        return None
    params: dict[str, Any] = {"q": words, "limit": limit, "offset": offset}
    query = "websearch_to_tsquery('english', :q)"
    if q.company:
        terms = company_terms(session, q.company)
        if not terms:
            return None
        ors = []
        for i, term in enumerate(terms):
            params[f"c{i}"] = term
            ors.append(f"phraseto_tsquery('english', :c{i})")
        query = f"({query} && ({' || '.join(ors)}))"
    where = [f"{_PG_VECTOR} @@ query", *_filters(q, params)]
    base = f"FROM articles a, (SELECT {query} AS query) AS q WHERE {' AND '.join(where)}"
    if count:
        return session.execute(_text(f"SELECT count(*) {base}", params), params).scalar_one()
    marks = f'StartSel="{OPEN_MARK}", StopSel="{CLOSE_MARK}"'
    sql = (
        "SELECT a.id, a.url, a.published_at, a.published_estimated, "
        f"ts_headline('english', a.title, query, '{marks}, HighlightAll=true') AS title, "
        f"ts_headline('english', a.text, query, '{marks}, MaxWords={SNIPPET_TOKENS}, "
        'MinWords=12, MaxFragments=2, FragmentDelimiter=" … "\') AS snippet '
        f"{base} ORDER BY ts_rank({_PG_VECTOR}, query) DESC, a.id DESC "
        "LIMIT :limit OFFSET :offset"
    )
    return session.execute(_text(sql, params, rows=True), params).all()


def _run(session: Session, q: SearchQuery, *, count: bool, limit: int = 0, offset: int = 0) -> Any:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return _run_sqlite(session, q, count=count, limit=limit, offset=offset)
    return _run_postgres(session, q, count=count, limit=limit, offset=offset)


def _linked_flags(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    rows = session.exec(
        select(Flag)
        .where(col(Flag.article_id).in_(ids), col(Flag.active).is_(True))
        .order_by(col(Flag.score).desc())
    ).all()
    for f in rows:
        out.setdefault(f.article_id, []).append(
            {
                "id": f.id,
                "pledge_id": f.pledge_id,
                "kind": f.kind,
                "status": f.status,
                "score": f.score,
            }
        )
    return out


def search_articles(
    session: Session,
    text: str,
    company: str | None = None,
    pledge: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Articles matching `text`, best first, with highlighted snippets and their flags.

    `company` keeps articles that name the company (its name, an alias or a product);
    `pledge` keeps articles flagged for that pledge; dates bound the publication day.
    """
    q = SearchQuery(text=text, company=company, pledge=pledge, since=since, until=until)
    _check(session, q)
    rows = _run(session, q, count=False, limit=max(0, limit), offset=max(0, offset)) or []
    flags = _linked_flags(session, [r.id for r in rows])
    out = []
    for r in rows:
        title, title_marks = split_marks(r.title or "")
        snippet, snippet_marks = split_marks(r.snippet or "")
        out.append(
            {
                "id": r.id,
                "title": title,
                "title_marks": title_marks,
                "url": r.url,
                "published": as_utc(r.published_at),
                "published_estimated": bool(r.published_estimated),
                "snippet": snippet,
                "snippet_marks": snippet_marks,
                "flags": flags.get(r.id, []),
            }
        )
    return out


def count_articles(
    session: Session,
    text: str,
    company: str | None = None,
    pledge: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """How many articles `search_articles` would find with no limit."""
    q = SearchQuery(text=text, company=company, pledge=pledge, since=since, until=until)
    _check(session, q)
    return int(_run(session, q, count=True) or 0)
