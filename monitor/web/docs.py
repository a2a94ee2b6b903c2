"""Interactive API docs from the Swagger UI files that swagger-ui-py installs (no CDN)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles


def swagger_files() -> Path:
    """The folder of Swagger UI's JavaScript and CSS inside the installed package."""
    import swagger_ui

    return Path(swagger_ui.__file__).resolve().parent / "static"


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve /docs with Swagger UI from /docs/files/, so it works on a server offline."""
    app.mount("/docs/files", StaticFiles(directory=swagger_files()), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url="/docs/files/swagger-ui-bundle.js",
            swagger_css_url="/docs/files/swagger-ui.css",
            swagger_favicon_url="/docs/files/favicon-32x32.png",
        )
        page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
        return page


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: str) -> str:
    """The docs page's policy: our files, and of inline scripts only the page's own.

    Swagger UI sets inline styles and draws icons from data: URIs; it fetches the spec
    and, for "Try it out", the API itself.
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
