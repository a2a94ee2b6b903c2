"""The HTTP API (FastAPI): read endpoints under /api/, token-protected writes, web pages.

`create_app(settings, db)` in `monitor.api.app` builds the application; `pledgewatch
serve` runs it on uvicorn.
"""
