"""The real app on uvicorn in a thread (127.0.0.1, a free port), over real databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from monitor.auth.tokens import create_token, revoke_token
from monitor.config import Settings, load_settings
from monitor.store.db import Database, open_database
from monitor.web.app import create_app
from tests.monitor.querydata import load_sample, sample_file


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run an ASGI app on uvicorn in a thread; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Live:
    """A served app, its database and tokens (`writer` is valid, `revoked` is revoked)."""

    url: str
    db: Database
    settings: Settings
    client: httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, name: str = "writer") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def make_tokens(db: Database) -> dict[str, str]:
    with db.write() as s:
        tokens = {
            "writer": create_token(session=s, name="writer"),
            "revoked": create_token(session=s, name="revoked"),
        }
        revoke_token(session=s, name="revoked")
    return tokens


@contextmanager
def live_app(db: Database, **api: Any) -> Iterator[Live]:
    settings = load_settings(env={}, database_url=db.url)
    for key, value in api.items():
        section, _, name = key.partition("__")
        setattr(getattr(settings, section), name, value)
    tokens = make_tokens(db)
    with serving(create_app(settings, db)) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield Live(url=url, db=db, settings=settings, client=c, tokens=tokens)


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.fixture
def sample_db(template_dir: Path, tmp_path: Path) -> Iterator[Database]:
    """A SQLite copy of the sample data (catalogue + sample feeds)."""
    db = open_database(f"sqlite:///{sample_file(template_dir, tmp_path / 'api.db')}")
    yield db
    db.dispose()


@pytest.fixture
def api(sample_db: Database) -> Iterator[Live]:
    with live_app(sample_db) as live:
        yield live


@pytest.fixture
def api_any(db: Database) -> Iterator[Live]:
    """The app over the sample data on each backend (SQLite and PostgreSQL)."""
    load_sample(db)
    with live_app(db) as live:
        yield live


@pytest.fixture(scope="module")
def api_readonly(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One served app per module, for tests that only read."""
    path = sample_file(template_dir, tmp_path_factory.mktemp("ro") / "api.db")
    db = open_database(f"sqlite:///{path}")
    with live_app(db) as live:
        yield live
    db.dispose()
