"""What every endpoint needs: the database session, the caller's token, clean text input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from sqlmodel import Session

from monitor.auth.tokens import TokenCheck, check_token, touch_token
from monitor.config import Settings
from monitor.store.db import Database

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000
MAX_ID = 2_147_483_647
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

bearer = HTTPBearer(
    auto_error=False,
    description="A token from `pledgewatch token create NAME`, sent as `Bearer <token>`.",
)


@dataclass(frozen=True)
class ApiContext:
    """The application's settings and database, built once per app."""

    settings: Settings
    db: Database


@dataclass(frozen=True)
class Caller:
    """Who sent a request with a valid token."""

    name: str
    token_id: int | None


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def db_session(request: Request) -> Iterator[Session]:
    """A read session for one request."""
    with context(request).db.session() as session:
        yield session


def _plain(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_response(data: object, status_code: int = 200) -> Response:
    """Data already in its documented shape, as JSON (no second validation pass)."""
    body = json.dumps(data, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), status_code=status_code, media_type="application/json")


def clean(value: str | None) -> str | None:
    """Text from the client without control characters (PostgreSQL refuses NUL)."""
    if value is None:
        return None
    value = _CONTROL.sub("", value).strip()
    return value or None


def check_caller(ctx: ApiContext, token: str | None) -> TokenCheck:
    with ctx.db.session() as session:
        return check_token(session, token)


def _refuse(result: TokenCheck) -> HTTPException:
    if result.status == "missing":
        return HTTPException(
            401,
            "this endpoint needs a token: send `Authorization: Bearer <token>` "
            "(create one with `pledgewatch token create NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if result.status == "revoked":
        return HTTPException(403, f"token {result.name!r} has been revoked")
    return HTTPException(
        401,
        "the bearer token is not valid",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _presented(creds: HTTPAuthorizationCredentials | None) -> str | None:
    return clean(creds.credentials) if creds is not None else None


def require_writer(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Writes need a valid, unrevoked token (401 missing or wrong, 403 revoked)."""
    ctx = context(request)
    result = check_caller(ctx, _presented(creds))
    if not result.ok or result.token_id is None:
        raise _refuse(result)
    with ctx.db.write() as session:
        touch_token(session=session, token_id=result.token_id, now=datetime.now(UTC))
    return Caller(result.name, result.token_id)


def require_reader(request: Request) -> Caller | None:
    """Reads are public unless `[api] public_reads = false`; then they need a token too.

    The header is read here rather than through `bearer` so that the spec marks reads
    as needing a token only when they do (see `monitor.web.app`).
    """
    ctx = context(request)
    if ctx.settings.api.public_reads:
        return None
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    result = check_caller(ctx, clean(credentials) if scheme.lower() == "bearer" else None)
    if not result.ok:
        raise _refuse(result)
    return Caller(result.name, result.token_id)


SessionDep = Annotated[Session, Depends(db_session)]
Reader = Annotated[Caller | None, Depends(require_reader)]
Writer = Annotated[Caller, Depends(require_writer)]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: object) -> object:
    # Pydantic would also read "1700000000" or "-3.4e-122" as a timestamp; a date
    # parameter takes a date.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (at most {MAX_LIMIT})")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
