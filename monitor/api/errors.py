"""Errors as JSON `{"detail": "..."}`: one shape for 4xx and 5xx, documented in OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.api.headers import BASELINE_HEADERS
from monitor.api.schemas import ErrorOut
from monitor.query.filters import UnknownFilterValue

log = logging.getLogger(__name__)


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "Missing or wrong bearer token",
        403: "Revoked token",
        404: "No such resource",
        409: "Stale write: the resource changed since the client read it",
        413: "Request body too large",
        422: "Invalid parameters or body",
        503: "Not available in this installation",
    }
    return {c: {"model": ErrorOut, "description": text[c]} for c in codes}


READ_ERRORS = _responses(401, 403, 422)
WRITE_ERRORS = _responses(401, 403, 413, 422)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses (all with the ErrorOut body)."""
    return _responses(*codes)


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
    return f"{loc}: {err.get('msg', 'invalid')}"


def _plain(errors: list[Any]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for e in errors:
        out.append(
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers JSON with a `detail` message; nothing leaks a traceback."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        detail = "; ".join(_describe(e) for e in errors[:5]) or "invalid request"
        body = ErrorOut(detail=detail, errors=_plain(errors))
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(UnknownFilterValue)
    async def _unknown(request: Request, exc: UnknownFilterValue) -> JSONResponse:
        # The parameter shares the filter's name (`pledge`, `company`).
        error = {"loc": ["query", exc.field], "msg": str(exc), "type": "unknown_value"}
        body = ErrorOut(detail=f"query.{exc.field}: {exc}", errors=[error])
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        status = exc.status_code
        if status == 400:
            # A body that is not JSON is a bad parameter like any other: 422.
            status, detail = 422, f"request body is not valid JSON ({detail})"
        return JSONResponse(
            {"detail": detail}, status_code=status, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Sent from outside every middleware, so it brings its own browser protections.
        return JSONResponse(
            {"detail": "internal error; see the server log"},
            status_code=500,
            headers=BASELINE_HEADERS,
        )
