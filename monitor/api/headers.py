"""Browser protections on every answer: pages set their own policy, the rest get this one."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON, stylesheets, scripts and errors are never pages: nothing may load, frame or run
# from them, and a browser must not guess that a JSON body holding feed text is HTML.
BASELINE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in BASELINE_HEADERS.items()]


def with_baseline(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` plus each baseline header the response did not set itself."""
    present = {name.lower() for name, _ in headers}
    return headers + [(name, value) for name, value in _RAW if name not in present]


class SecurityHeaders:
    """Pure ASGI middleware adding BASELINE_HEADERS to every HTTP response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_protected(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_baseline(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, send_protected)
