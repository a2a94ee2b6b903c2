"""Feed test fixtures: fetch options with short timeouts (the feed server: tests/conftest.py)."""

from __future__ import annotations

import pytest

from feeds.addresses import AddressPolicy
from feeds.fetch import FetchOptions


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
