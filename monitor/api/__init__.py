"""The HTTP API (FastAPI): read endpoints under /api/, token-protected writes.

Routers, request context and caller checks (`deps`), caching, body limits, HEAD as GET
and error handlers. The application that mounts these routers beside the web pages is
`monitor.web.app`. Imports every room below it but never `web` or `cli`.
"""
