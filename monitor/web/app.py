"""The application factory: API routers, web pages, static files, limits, JSON errors."""

from __future__ import annotations

import logging
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from feeds.redact import RedactSecrets
from monitor.api import digests, feeds, flags, pledges, poll, search
from monitor.api.cache import DataVersion, ReadCache
from monitor.api.deps import ApiContext
from monitor.api.errors import install_error_handlers
from monitor.api.head import HeadAsGet
from monitor.api.headers import SecurityHeaders
from monitor.api.limits import BodyLimit
from monitor.config import Settings, load_settings
from monitor.store.db import Database, open_database
from monitor.web.docs import install_docs
from monitor.web.errors import install_html_errors

STATIC = Path(__file__).resolve().parent.parent / "static"

DESCRIPTION = """\
Query the pledge database: pledges, companies, flags (possible breaches and rollbacks,
with evidence), incidents, article search, feed health and digests.

Reads are public unless the server sets `[api] public_reads = false`. Writes (reviews,
feeds, polls) need `Authorization: Bearer <token>` with a token from
`pledgewatch token create NAME`. Errors are JSON `{"detail": "..."}`.
"""


def _version() -> str:
    try:
        return version("pledgewatch")
    except PackageNotFoundError:
        return "0"


def create_app(settings: Settings, db: Database) -> FastAPI:
    """Build the ASGI app serving /api/, /openapi.json, /docs and the web pages."""
    from monitor.web.pages import router as web_router
    from monitor.web.triage import router as triage_router

    app = FastAPI(
        title="pledgewatch",
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ApiContext(settings=settings, db=db)
    install_error_handlers(app)
    install_html_errors(app)
    install_docs(app)
    for module in (pledges, flags, search, feeds, digests, poll):
        app.include_router(module.router)
    app.include_router(web_router)
    app.include_router(triage_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    counter = _data_version(settings, db)
    if counter is not None:
        app.add_middleware(ReadCache, version=counter, max_entries=settings.api.read_cache_entries)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(HeadAsGet)
    # Outermost of ours, so refusals by the body limit are covered too.
    app.add_middleware(SecurityHeaders)
    if not settings.api.public_reads:
        _document_private_reads(app)
    return app


def _document_private_reads(app: FastAPI) -> None:
    """With `public_reads = false`, the spec says every /api/ read needs the bearer token."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for path, operations in spec.get("paths", {}).items():
            if path.startswith("/api/") and "get" in operations:
                operations["get"].setdefault("security", [{"HTTPBearer": []}])
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _data_version(settings: Settings, db: Database) -> DataVersion | None:
    """The change counter the read cache needs: public reads on an SQLite file only."""
    path = db.engine.url.database
    if not (db.is_sqlite and settings.api.public_reads and settings.api.read_cache_entries):
        return None
    if not path or path == ":memory:" or not Path(path).is_file():
        return None
    return DataVersion(Path(path))


def create_app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory` and worker processes: settings from the env."""
    root = logging.getLogger()
    if not root.handlers:
        # A worker process does not inherit the CLI's log handler, and the bare fallback
        # handler would print URL secrets as they are.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
    settings = load_settings(os.environ.get("PLEDGEWATCH_CONFIG") or None)
    return create_app(settings, open_database(settings.database.url))
