"""Feed test fixtures: fetch options with short timeouts, raw servers (feed server: ../conftest)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import pytest

from feeds.addresses import AddressPolicy
from feeds.fetch import FetchOptions
from tests.feeds.rawserver import Answer, RawServer


def fast_options(**overrides: object) -> FetchOptions:
    """Fetch options for tests: loopback allowed, short timeouts, a 1 MB cap."""
    values: dict[str, object] = {
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 2.0,
        "max_bytes": 1_000_000,
        "policy": AddressPolicy.build(allow_private=False, allowed_networks=["127.0.0.1/32"]),
    }
    values.update(overrides)
    return FetchOptions(**values)  # type: ignore[arg-type]


@pytest.fixture
def options() -> FetchOptions:
    return fast_options()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    """Start raw servers (tests/feeds/rawserver.py); all are closed after the test."""
    servers: list[RawServer] = []

    def start(answer: Answer, tls: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(answer, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
