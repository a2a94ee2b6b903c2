"""Web sign-in: the token in an HttpOnly, SameSite=Strict cookie, plus a form token.

The cookie holds a random session nonce and the API token. Every form that changes
something carries a per-session form token, HMAC(token, nonce): a page on another site
can neither read it nor make the browser send the cookie (SameSite=Strict), so a forged
form post fails twice over.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from monitor.api.deps import check_caller, clean, context

COOKIE = "pw_session"
MAX_AGE = 30 * 24 * 3600


@dataclass(frozen=True)
class WebUser:
    """A signed-in reviewer: the token's name and this session's form token."""

    name: str
    csrf: str


def form_token(token: str, nonce: str) -> str:
    return hmac.new(token.encode(), f"form:{nonce}".encode(), hashlib.sha256).hexdigest()


def _parts(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(COOKIE, "")
    nonce, _, token = raw.partition(".")
    if not nonce or not token:
        return None
    return nonce, token


def current_user(request: Request) -> WebUser | None:
    """The signed-in reviewer, if the cookie holds a valid, unrevoked token."""
    parts = _parts(request)
    if parts is None:
        return None
    nonce, token = parts
    result = check_caller(context(request), clean(token))
    if not result.ok:
        return None
    return WebUser(name=result.name, csrf=form_token(token, nonce))


def valid_form(request: Request, submitted: str | None) -> bool:
    """Whether a posted form token belongs to this browser's session."""
    parts = _parts(request)
    if parts is None or not submitted:
        return False
    return hmac.compare_digest(form_token(parts[1], parts[0]), submitted)


def sign_in(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        f"{secrets.token_urlsafe(16)}.{token}",
        max_age=MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after a form (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
