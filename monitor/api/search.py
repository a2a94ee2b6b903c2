"""/api/search: full-text search over stored articles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from monitor.api.deps import IsoDate, Limit, Offset, Reader, SessionDep, clean
from monitor.api.errors import READ_ERRORS
from monitor.api.schemas import Page, SearchHit
from monitor.query.search import MAX_QUERY_CHARS, count_articles, search_articles

router = APIRouter(prefix="/api", tags=["search"], responses=READ_ERRORS)


@router.get("/search", response_model=Page[SearchHit])
def search(
    session: SessionDep,
    _: Reader,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description='Words (all required), "phrases", OR',
        ),
    ],
    limit: Limit = 20,
    offset: Offset = 0,
    company: Annotated[str | None, Query(max_length=200)] = None,
    pledge: Annotated[str | None, Query(max_length=200)] = None,
    since: IsoDate | None = None,
    until: IsoDate | None = None,
) -> dict[str, Any]:
    """Articles matching `q`, best first, with highlighted snippets and linked flags."""
    text = clean(q) or ""
    args: dict[str, Any] = {
        "company": clean(company),
        "pledge": clean(pledge),
        "since": since,
        "until": until,
    }
    return {
        "items": search_articles(session, text, limit=limit, offset=offset, **args),
        "total": count_articles(session, text, **args),
        "limit": limit,
        "offset": offset,
    }
