"""/api/feeds: feed health, and adding or removing feeds (token required)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response
from sqlalchemy import update
from sqlmodel import col, select

from feeds.addresses import AddressPolicy, check_feed_url
from feeds.errors import FeedError
from feeds.health import health_state
from feeds.models import ArticleSource, Feed
from feeds.redact import redact_text, redact_url
from monitor.api.deps import MAX_ID, Limit, Offset, Reader, SessionDep, Writer, context
from monitor.api.errors import READ_ERRORS, WRITE_ERRORS, responses
from monitor.api.schemas import FeedIn, FeedOut, Page
from monitor.config import Settings
from monitor.store.db import as_utc

router = APIRouter(prefix="/api", tags=["feeds"], responses=READ_ERRORS)
FeedId = Annotated[int, Path(ge=1, le=MAX_ID)]
FeedState = Literal["new", "ok", "degraded", "failing", "gone"]


def feed_dict(f: Feed) -> dict[str, Any]:
    return {
        "id": f.id,
        "url": redact_url(f.url),
        "name": f.name,
        "state": health_state(f),
        "created_at": as_utc(f.created_at),
        "last_fetch_at": as_utc(f.last_fetch_at),
        "last_success_at": as_utc(f.last_success_at),
        "last_status": f.last_status,
        "consecutive_errors": f.consecutive_errors,
        "failing_since": as_utc(f.failing_since),
        "error_kind": f.error_kind,
        "last_error": redact_text(f.last_error) if f.last_error else None,
        "degraded_reason": f.degraded_reason,
        "next_due_at": as_utc(f.next_due_at),
        "interval_seconds": f.interval_seconds,
        "entry_count": f.entry_count,
        "gone": f.gone,
    }


def checked_url(url: str, settings: Settings) -> str:
    """The normalised URL if the address-safety rule allows it (HTTP 422 otherwise)."""
    policy = AddressPolicy.build(
        allow_private=settings.feeds.allow_private_addresses,
        allowed_networks=settings.feeds.allowed_networks,
    )
    try:
        return check_feed_url(url, policy)
    except FeedError as exc:
        raise HTTPException(422, f"feed URL refused: {redact_text(str(exc))}") from exc


@router.get("/feeds", response_model=Page[FeedOut])
def feeds(
    session: SessionDep,
    _: Reader,
    limit: Limit = 50,
    offset: Offset = 0,
    state: FeedState | None = None,
) -> dict[str, Any]:
    """Every feed with its health: failing feeds say why and since when."""
    rows = [feed_dict(f) for f in session.exec(select(Feed).order_by(col(Feed.id))).all()]
    if state:
        rows = [r for r in rows if r["state"] == state]
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


@router.get("/feeds/{feed_id}", response_model=FeedOut, responses=responses(404))
def feed(session: SessionDep, _: Reader, feed_id: FeedId) -> dict[str, Any]:
    """One feed and its health."""
    f = session.get(Feed, feed_id)
    if f is None:
        raise HTTPException(404, f"no feed with id {feed_id}")
    return feed_dict(f)


@router.post(
    "/feeds", response_model=FeedOut, status_code=201, responses={**WRITE_ERRORS, **responses(409)}
)
def add_feed(request: Request, _: Writer, body: FeedIn) -> dict[str, Any]:
    """Subscribe to a feed; it is polled from the next poll on (token required)."""
    ctx = context(request)
    url = checked_url(body.url, ctx.settings)
    now = datetime.now(UTC)
    minutes = body.interval_minutes or ctx.settings.feeds.interval_minutes
    with ctx.db.write() as session:
        if session.exec(select(Feed).where(Feed.url == url)).first() is not None:
            raise HTTPException(409, f"feed {redact_url(url)} is already subscribed")
        row = Feed(
            url=url, name=body.name, created_at=now, interval_seconds=minutes * 60, next_due_at=now
        )
        session.add(row)
        session.flush()
        return feed_dict(row)


@router.delete(
    "/feeds/{feed_id}",
    status_code=204,
    response_class=Response,
    responses={**WRITE_ERRORS, **responses(404)},
)
def remove_feed(request: Request, _: Writer, feed_id: FeedId) -> Response:
    """Unsubscribe; articles already stored (and their flags) are kept (token required)."""
    with context(request).db.write() as session:
        row = session.get(Feed, feed_id)
        if row is None:
            raise HTTPException(404, f"no feed with id {feed_id}")
        session.execute(
            update(ArticleSource).where(col(ArticleSource.feed_id) == feed_id).values(feed_id=None)
        )
        session.delete(row)
    return Response(status_code=204)
