"""Imports every table module so the metadata is complete (for create_all and migrations)."""

from feeds.models import Article, ArticleSource, Feed
from monitor.store.models import (
    ApiToken,
    DaemonHeartbeat,
    DetectorModel,
    Digest,
    Flag,
    Incident,
    JobRun,
    PledgeVector,
    Review,
    WebSession,
)
from pledges.models import Company, Pledge, PledgeEvent

__all__ = [
    "ApiToken",
    "Article",
    "ArticleSource",
    "Company",
    "DaemonHeartbeat",
    "DetectorModel",
    "Digest",
    "Feed",
    "Flag",
    "Incident",
    "JobRun",
    "Pledge",
    "PledgeEvent",
    "PledgeVector",
    "Review",
    "WebSession",
]
