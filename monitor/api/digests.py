"""/api/digests: the weekly digest outbox, per week (recipients' addresses stay private)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from monitor.api.deps import Limit, Offset, Reader, SessionDep
from monitor.api.errors import READ_ERRORS
from monitor.api.schemas import DigestPeriod, Page
from monitor.store.db import as_utc
from monitor.store.models import Digest

router = APIRouter(prefix="/api", tags=["digests"], responses=READ_ERRORS)


@router.get("/digests", response_model=Page[DigestPeriod])
def digests(
    session: SessionDep, _: Reader, limit: Limit = 20, offset: Offset = 0
) -> dict[str, Any]:
    """Digest weeks, newest first: recipients, and how many were sent, pending or failed."""
    periods: dict[str, dict[str, Any]] = {}
    for d in session.exec(select(Digest).order_by(col(Digest.period).desc())).all():
        p = periods.setdefault(
            d.period,
            {
                "period": d.period,
                "recipients": 0,
                "sent": 0,
                "pending": 0,
                "failed": 0,
                "first_sent_at": None,
                "last_sent_at": None,
            },
        )
        p["recipients"] += 1
        if d.status == "sent":
            p["sent"] += 1
            sent = as_utc(d.sent_at)
            if sent is not None:
                p["first_sent_at"] = min(filter(None, [p["first_sent_at"], sent]))
                p["last_sent_at"] = max(filter(None, [p["last_sent_at"], sent]))
        elif d.status == "failed":
            p["failed"] += 1
        else:
            p["pending"] += 1
    rows = list(periods.values())
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }
