"""Pledge tables (Company, Pledge, PledgeEvent) and the catalogue schema (PledgeIn)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class PledgeKind(StrEnum):
    moratorium = "moratorium"
    ban = "ban"
    exit = "exit"
    target = "target"
    policy = "policy"
    legal_obligation = "legal-obligation"


class PledgeStatus(StrEnum):
    active = "active"
    expired = "expired"
    withdrawn = "withdrawn"
    fulfilled = "fulfilled"


def _clean_terms(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        v = " ".join(v.split())
        if not v:
            raise ValueError("terms must not be empty")
        if v not in out:
            out.append(v)
    return out


class CompanyIn(BaseModel):
    """The company a pledge belongs to, as written in a catalogue file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Canonical company name")
    aliases: list[str] = Field(default_factory=list, description="Other names used in news")
    products: list[str] = Field(
        default_factory=list, description="Products or units whose mention implies the company"
    )

    _clean = field_validator("aliases", "products")(_clean_terms)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("must not be blank")
        return v


class EventIn(BaseModel):
    """A later event in a pledge's life (extension, scale-back, withdrawal...)."""

    model_config = ConfigDict(extra="forbid")

    date: date
    event: str = Field(min_length=1)
    source: str | None = None


class PledgeIn(BaseModel):
    """One commitment as written in a catalogue YAML file (docs/catalogue.md)."""

    model_config = ConfigDict(extra="forbid", title="pledgewatch pledge")

    id: str = Field(pattern=ID_PATTERN, description="Unique slug, equal to the file name stem")
    company: CompanyIn
    title: str = Field(min_length=1)
    kind: PledgeKind
    statement: str = Field(min_length=1, description="What was promised, in our own words")
    made_on: date = Field(description="Date the commitment was made; it binds from then")
    effective_until: date | None = Field(
        default=None, description="Date the commitment ends or its deadline, or null"
    )
    status: PledgeStatus = PledgeStatus.active
    subject: list[str] = Field(min_length=1, description="Phrases naming what it is about")
    scope: list[str] = Field(default_factory=list, description="Who or where it covers")
    sources: list[str] = Field(min_length=1, description="URLs where it was made or reported")
    history: list[EventIn] = Field(default_factory=list)

    _clean = field_validator("subject", "scope")(_clean_terms)

    @field_validator("sources")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not re.match(r"^https?://[^\s/]+\.[^\s]+$", url):
                raise ValueError(f"not an http(s) URL: {url!r}")
        return v

    @model_validator(mode="after")
    def _dates(self) -> PledgeIn:
        if self.effective_until is not None and self.effective_until < self.made_on:
            raise ValueError("effective_until is before made_on")
        return self


class Company(SQLModel, table=True):
    """A company, one row however many pledges name it."""

    __tablename__ = "companies"

    id: int | None = SQLField(default=None, primary_key=True)
    name: str = SQLField(index=True, unique=True)
    aliases: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    products: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))


class Pledge(SQLModel, table=True):
    """A commitment loaded from the catalogue."""

    __tablename__ = "pledges"

    id: str = SQLField(primary_key=True)
    company_id: int = SQLField(foreign_key="companies.id", index=True)
    title: str
    kind: str
    statement: str
    made_on: date
    effective_until: date | None = None
    status: str = SQLField(default="active", index=True)
    subject: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Removed from the catalogue: kept so flags and reviews keep their pledge.
    retired: bool = SQLField(default=False)
    content_hash: str = ""
    synced_at: datetime = SQLField(sa_column=Column(DateTime(timezone=True), nullable=False))


class PledgeEvent(SQLModel, table=True):
    """A dated event in a pledge's history."""

    __tablename__ = "pledge_events"

    id: int | None = SQLField(default=None, primary_key=True)
    pledge_id: str = SQLField(foreign_key="pledges.id", index=True)
    date: date
    event: str
    source: str | None = None
    # When this event first appeared in the database (for "status changed this week").
    recorded_at: datetime = SQLField(sa_column=Column(DateTime(timezone=True), nullable=False))
