"""Exports of pledges, flags and articles as CSV, JSON or JSON Lines, streamed in batches.

Rows are read in keyset-paginated batches and written as they come, so exporting a
million articles needs the memory of one batch, not of the whole table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from typing import IO, Any

from sqlmodel import Session, col, select

from feeds.models import Article, ArticleSource
from feeds.redact import redact_text, redact_url
from monitor.query.filters import FLAG_STATUSES, FlagFilter, start_of_day
from monitor.query.flags import list_flags
from monitor.store.db import as_utc
from monitor.store.models import Review
from pledges.models import Company, Pledge

BATCH = 1000
# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WHAT = ("pledges", "flags", "articles")
FORMATS = ("csv", "json", "jsonl")

COLUMNS: dict[str, list[str]] = {
    "pledges": [
        "id",
        "company",
        "title",
        "kind",
        "status",
        "made_on",
        "effective_until",
        "statement",
        "subject",
        "scope",
        "sources",
        "retired",
    ],
    # One column per thing a reviewer reports on; in CSV, reasons and evidence are text.
    "flags": [
        "id",
        "pledge_id",
        "pledge_title",
        "company",
        "kind",
        "score",
        "status",
        "decision",
        "reviewer",
        "review_note",
        "reviewed_at",
        "active",
        "incident_id",
        "response",
        "response_source",
        "first_raised_at",
        "article_id",
        "article_title",
        "article_url",
        "published",
        "outlets",
        "reasons",
        "evidence",
    ],
    "articles": [
        "id",
        "key",
        "url",
        "title",
        "published_at",
        "published_estimated",
        "first_seen_at",
        "outlets",
        "text",
    ],
}


def iter_pledges(session: Session) -> Iterator[dict[str, Any]]:
    """Every pledge, retired ones included, by id."""
    rows = session.exec(
        select(Pledge, Company)
        .join(Company, col(Company.id) == Pledge.company_id)
        .order_by(col(Pledge.id))
    ).all()
    for p, c in rows:
        yield {
            "id": p.id,
            "company": c.name,
            "title": p.title,
            "kind": p.kind,
            "status": p.status,
            "made_on": p.made_on,
            "effective_until": p.effective_until,
            "statement": p.statement,
            "subject": list(p.subject),
            "scope": list(p.scope),
            "sources": list(p.sources),
            "retired": p.retired,
        }


def iter_flags(session: Session, f: FlagFilter | None = None) -> Iterator[dict[str, Any]]:
    """Flags (inactive ones included unless filtered), newest article first."""
    base = f or FlagFilter(include_inactive=True)
    offset = base.offset
    remaining = base.limit
    while remaining is None or remaining > 0:
        size = BATCH if remaining is None else min(BATCH, remaining)
        page = list_flags(session, replace(base, limit=size, offset=offset))
        decided = latest_decisions(session, [fl["id"] for fl in page])
        for fl in page:
            art = fl["article"]
            review = decided.get(fl["id"])
            yield {
                **{k: fl[k] for k in COLUMNS["flags"] if k in fl},
                "decision": review.decision if review else None,
                "reviewer": review.reviewer if review else None,
                "review_note": review.note if review else None,
                "reviewed_at": as_utc(review.created_at) if review else None,
                "article_id": art["id"],
                "article_title": art["title"],
                "article_url": art["url"],
                "published": art["published"],
                "outlets": [s["outlet"] or s["source"] for s in art["sources"]],
            }
        if len(page) < size:
            return
        offset += size
        if remaining is not None:
            remaining -= size


def latest_decisions(session: Session, flag_ids: list[int]) -> dict[int, Review]:
    """Each flag's latest review that decided something (not a response alone)."""
    out: dict[int, Review] = {}
    if not flag_ids:
        return out
    for r in session.exec(
        select(Review)
        .where(col(Review.flag_id).in_(flag_ids), col(Review.decision).in_(FLAG_STATUSES))
        .order_by(col(Review.id))
    ).all():
        out[r.flag_id] = r
    return out


def flag_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """A flag row for a spreadsheet: reasons, evidence and outlets as plain text."""
    return {
        **row,
        "reasons": "; ".join(str(r) for r in row.get("reasons") or []),
        "evidence": " | ".join(str(ev.get("sentence", "")) for ev in row.get("evidence") or []),
        "outlets": "; ".join(row.get("outlets") or []),
    }


def iter_articles(session: Session, since: date | None = None) -> Iterator[dict[str, Any]]:
    """Every stored article by id, with the outlets that carried it."""
    after = 0
    while True:
        stmt = select(Article).where(col(Article.id) > after)
        if since is not None:
            stmt = stmt.where(col(Article.published_at) >= start_of_day(since))
        batch = session.exec(stmt.order_by(col(Article.id)).limit(BATCH)).all()
        if not batch:
            return
        ids = [a.id for a in batch]
        outlets: dict[int, list[str]] = {}
        for s in session.exec(
            select(ArticleSource).where(col(ArticleSource.article_id).in_(ids))
        ).all():
            outlets.setdefault(s.article_id, []).append(s.outlet or redact_url(s.source))
        for a in batch:
            yield {
                "id": a.id,
                "key": redact_text(a.key),
                "url": a.url,
                "title": a.title,
                "published_at": as_utc(a.published_at),
                "published_estimated": a.published_estimated,
                "first_seen_at": as_utc(a.first_seen_at),
                "outlets": outlets.get(a.id or 0, []),
                "text": a.text,
            }
        after = batch[-1].id or after
        session.expunge_all()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def csv_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading quote before a formula start.

    Feed titles and evidence are written by strangers; `=HYPERLINK(...)` must not run
    when an analyst opens an export. Numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return csv_safe(json.dumps(value, default=_plain, ensure_ascii=False))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return csv_safe(value)


def write_rows(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str, columns: list[str]) -> int:
    """Write rows as they come; returns how many were written."""
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
            n += 1
        return n
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, default=_plain, ensure_ascii=False) + "\n")
            n += 1
        return n
    out.write("[")
    for row in rows:
        out.write(",\n" if n else "\n")
        out.write(json.dumps(row, default=_plain, ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def export(
    session: Session, what: str, out: IO[str], fmt: str, *, since: date | None = None
) -> int:
    """Export one table's rows to `out`."""
    if what == "pledges":
        rows = iter_pledges(session)
    elif what == "flags":
        rows = iter_flags(session, FlagFilter(include_inactive=True, since=since))
        if fmt == "csv":
            rows = (flag_as_text(r) for r in rows)
    elif what == "articles":
        rows = iter_articles(session, since)
    else:
        raise ValueError(f"cannot export {what!r}; choose one of {', '.join(WHAT)}")
    return write_rows(rows, out, fmt, COLUMNS[what])
