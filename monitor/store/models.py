"""Monitor tables: flags, incidents, reviews, the digest outbox, daemon state, API tokens
and web sign-in sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Incident(SQLModel, table=True):
    """One story about one pledge, however many outlets carried it."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    pledge_id: str = Field(foreign_key="pledges.id", index=True)
    title: str = ""
    first_seen_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    last_seen_at: datetime = Field(sa_column=_ts(nullable=False))


class Flag(SQLModel, table=True):
    """A possible breach or rollback: one per (article, pledge), explained."""

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("article_id", "pledge_id", name="uq_flag_article_pledge"),
        # The common filters of `flags list`, the API and the inbox.
        Index("ix_flags_pledge_status", "pledge_id", "status", "active"),
        Index("ix_flags_active_status", "active", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    pledge_id: str = Field(foreign_key="pledges.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incidents.id", index=True)
    kind: str = Field(index=True)  # breach | rollback
    score: float
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The company's reported answer (denied, admitted, declined to comment), if any.
    response: str | None = None
    # Latest review decision, kept here for fast filtering; reviews are the record.
    status: str = Field(default="open", index=True)
    # False when a rescan no longer finds it; kept because it may carry reviews.
    active: bool = True
    detector_version: str = ""
    # Number of reviews so far; a reviewer sends back the version they saw (stale -> 409).
    review_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    first_raised_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class Review(SQLModel, table=True):
    """An append-only review decision on a flag."""

    __tablename__ = "reviews"

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flags.id", index=True)
    decision: str  # confirmed | dismissed | open | response (response recorded only)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The company's response as a reviewer recorded it, and where it was reported.
    response: str | None = None
    response_source: str | None = Field(default=None, sa_column=Column(Text))
    reviewer: str = ""
    created_at: datetime = Field(sa_column=_ts(nullable=False))


class Digest(SQLModel, table=True):
    """Outbox row: one weekly digest for one recipient, written before sending."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("period", "recipient", name="uq_digest_period_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(index=True)  # ISO week, e.g. 2026-W47
    recipient: str
    # pending | sending | sent | failed | skipped (an empty week with skip_empty, or a
    # recipient no longer configured): see monitor/digest/outbox.py
    status: str = Field(default="pending", index=True)
    message_id: str = ""
    subject: str = ""
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts())
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=_ts())
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())


class DaemonHeartbeat(SQLModel, table=True):
    """A running daemon's last sign of life."""

    __tablename__ = "daemon_heartbeats"

    id: str = Field(primary_key=True)  # host:pid:random
    hostname: str = ""
    pid: int = 0
    # The daemon's own interval: `status` calls it fresh within three of them.
    heartbeat_seconds: int = 30
    started_at: datetime = Field(sa_column=_ts(nullable=False))
    seen_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    stopped_at: datetime | None = Field(default=None, sa_column=_ts())


class JobRun(SQLModel, table=True):
    """Last and next run of each scheduled job, for `status`."""

    __tablename__ = "job_runs"

    job: str = Field(primary_key=True)
    last_started_at: datetime | None = Field(default=None, sa_column=_ts())
    last_finished_at: datetime | None = Field(default=None, sa_column=_ts())
    last_ok: bool | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_run_at: datetime | None = Field(default=None, sa_column=_ts())


class ApiToken(SQLModel, table=True):
    """A bearer token for API writes, stored only as a hash."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts())
    last_used_at: datetime | None = Field(default=None, sa_column=_ts())


class WebSession(SQLModel, table=True):
    """A signed-in browser: its cookie holds a random id, this row only the id's hash."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(unique=True)
    token_id: int = Field(foreign_key="api_tokens.id", index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts())


class DetectorModel(SQLModel, table=True):
    """A fitted detector model this database scores with (the newest active one)."""

    __tablename__ = "detector_models"

    id: int | None = Field(default=None, primary_key=True)
    version: str
    # The model as `pledges.model.LinearModel.to_json` writes it.
    model: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = True
    created_at: datetime = Field(sa_column=_ts(nullable=False))


class PledgeVector(SQLModel, table=True):
    """A pledge's text as the semantic layer's encoder embeds it, kept so a catalogue
    compiles without embedding again every pledge it has seen (`pledges.semantic`)."""

    __tablename__ = "pledge_vectors"

    # `pledges.semantic.vector_key`: the encoder's version and the text, hashed.
    key: str = Field(primary_key=True)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_ts(nullable=False))
