"""Interactive API docs from the Swagger UI files that swagger-ui-py installs (no CDN)."""

from __future__ import annotations

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
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url="/docs/files/swagger-ui-bundle.js",
            swagger_css_url="/docs/files/swagger-ui.css",
            swagger_favicon_url="/docs/files/favicon-32x32.png",
        )
