"""Error pages for browsers: a page asking for HTML gets one; API clients keep JSON."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.web.render import render
from monitor.web.session import current_user

TITLES = {
    401: "Sign in needed",
    403: "Not allowed",
    404: "Page not found",
    405: "Not available here",
    413: "Request too large",
    422: "Bad request",
}


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept names text/html first), never an /api/ call."""
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return False
    accept = request.headers.get("accept", "")
    html = accept.find("text/html")
    json = accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


def install_html_errors(app: FastAPI) -> None:
    """Wrap the JSON handler for HTTP errors: browsers get the site's error page."""
    as_json = app.exception_handlers[StarletteHTTPException]

    async def _http(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException) or not wants_html(request):
            answer = as_json(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        status = exc.status_code
        title = TITLES.get(status, "Something went wrong")
        message = (
            f"There is nothing at {request.url.path}."
            if status == 404
            else (exc.detail if isinstance(exc.detail, str) else title)
        )
        return render(
            "error.html.j2",
            status,
            user=current_user(request),
            path=request.url.path,
            title=title,
            message=message,
        )

    app.add_exception_handler(StarletteHTTPException, _http)
