"""Polling settings as the feeds package takes them: fetch limits, address and health policy."""

from __future__ import annotations

from feeds.addresses import AddressPolicy
from feeds.fetch import FetchOptions
from feeds.health import HealthPolicy
from monitor.config import Settings


def fetch_options(settings: Settings) -> FetchOptions:
    """Fetch limits and address policy from `[feeds]` settings."""
    f = settings.feeds
    return FetchOptions(
        concurrency=f.concurrency,
        per_host=f.per_host,
        max_bytes=f.max_bytes,
        connect_timeout=f.connect_timeout,
        read_timeout=f.read_timeout,
        total_timeout=f.total_timeout,
        user_agent=f.user_agent,
        policy=address_policy(settings),
    )


def address_policy(settings: Settings) -> AddressPolicy:
    """Which addresses feeds may be fetched from (`[feeds] allow_private_addresses`...)."""
    return AddressPolicy.build(
        allow_private=settings.feeds.allow_private_addresses,
        allowed_networks=settings.feeds.allowed_networks,
    )


def health_policy(settings: Settings) -> HealthPolicy:
    return HealthPolicy(
        max_backoff_seconds=settings.feeds.max_backoff_hours * 3600,
        min_interval_seconds=settings.feeds.min_interval_seconds,
    )
