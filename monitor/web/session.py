"""Web sign-in: a random session id in an HttpOnly, SameSite=Strict cookie, plus form tokens.

Signing in with an API token opens a server-side session (`monitor.auth.sessions`); the
cookie holds only the session id, never the token, and signing out revokes the session
on the server. Every form that changes something carries a form token derived from the
session id; the sign-in form, posted before any session exists, carries a random value
that must match a short-lived cookie of its own. A page on another site can neither
read these values nor make the browser send the cookies (SameSite=Strict), so a forged
post fails twice over, sign-in included.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from monitor.api.deps import context
from monitor.auth.sessions import LIFETIME, check_session, close_session, open_session
from monitor.auth.sessions import prune_sessions as _prune

COOKIE = "pw_session"
SIGNIN_COOKIE = "pw_signin"
MAX_AGE = int(LIFETIME.total_seconds())
SIGNIN_MAX_AGE = 3600
# Session ids are token_urlsafe(32): 43 characters; anything much longer is not ours.
_MAX_COOKIE = 128


@dataclass(frozen=True)
class WebUser:
    """A signed-in reviewer: the token's name and this session's form token."""

    name: str
    csrf: str


def form_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"form", hashlib.sha256).hexdigest()


def _session_id(request: Request) -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if 0 < len(value) <= _MAX_COOKIE else None


def current_user(request: Request) -> WebUser | None:
    """The signed-in reviewer, if the cookie names an open session of an unrevoked token."""
    session_id = _session_id(request)
    if session_id is None:
        return None
    with context(request).db.session() as session:
        found = check_session(session, session_id)
    if found is None:
        return None
    return WebUser(name=found.name, csrf=form_token(session_id))


def valid_form(request: Request, submitted: str | None) -> bool:
    """Whether a posted form token belongs to this browser's session."""
    session_id = _session_id(request)
    if session_id is None or not submitted:
        return False
    return hmac.compare_digest(form_token(session_id), submitted)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def signin_token(request: Request) -> str:
    """The form token for the sign-in form: the browser's own, or a new one."""
    value = request.cookies.get(SIGNIN_COOKIE, "")
    return value if 16 <= len(value) <= _MAX_COOKIE else secrets.token_hex(24)


def offer_signin(response: Response, request: Request, value: str) -> None:
    """Set the cookie a sign-in form's token must match when it is posted."""
    _cookie(response, request, SIGNIN_COOKIE, value, SIGNIN_MAX_AGE)


def valid_signin(request: Request, submitted: str | None) -> bool:
    """Whether a posted sign-in form came from a page this browser got from us."""
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if len(expected) < 16 or not submitted:
        return False
    return hmac.compare_digest(expected, submitted)


def sign_in(response: Response, request: Request, token_id: int) -> None:
    """Open a session for a checked token and give the browser its id."""
    with context(request).db.write() as session:
        _prune(session=session)
        session_id = open_session(session=session, token_id=token_id)
    _cookie(response, request, COOKIE, session_id, MAX_AGE)
    response.delete_cookie(SIGNIN_COOKIE, path="/", httponly=True, samesite="strict")


def sign_out(response: Response, request: Request) -> None:
    """Revoke this browser's session on the server and drop its cookie."""
    session_id = _session_id(request)
    if session_id is not None:
        with context(request).db.write() as session:
            close_session(session=session, session_id=session_id)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after a form (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
