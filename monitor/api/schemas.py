"""Response and request bodies of the HTTP API (pydantic models, shown in /openapi.json)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from monitor.flags.review import NOTE_PATTERN, SOURCE_PATTERN

T = TypeVar("T")

FlagKind = Literal["breach", "rollback"]
FlagStatus = Literal["open", "confirmed", "dismissed"]
Decision = Literal["confirmed", "dismissed", "open"]
Response = Literal["denied", "admitted", "partly-admitted", "no-comment"]


class ErrorOut(BaseModel):
    """Every error: a message, and for bad parameters the fields at fault."""

    detail: str
    errors: list[dict[str, object]] | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list: `total` counts every match, `items` holds at most `limit`."""

    items: list[T]
    total: int
    limit: int
    offset: int


class SourceOut(BaseModel):
    outlet: str
    source: str
    seen_at: datetime | None


class ArticleRef(BaseModel):
    id: int
    url: str | None
    title: str
    published: datetime | None
    published_estimated: bool
    sources: list[SourceOut]


class SpanOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    start: int
    end: int
    text: str
    role: str


class EvidenceOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    sentence: str
    in_title: bool = False
    spans: list[SpanOut] = Field(default_factory=list)


class FlagOut(BaseModel):
    """A possible breach or rollback, explained; `review_version` counts its reviews."""

    id: int
    pledge_id: str
    pledge_title: str
    company: str
    kind: str
    score: float
    status: str
    active: bool
    incident_id: int | None
    response: str | None
    response_source: str | None
    response_by: str | None
    review_version: int
    first_raised_at: datetime | None
    article: ArticleRef
    reasons: list[str]
    evidence: list[EvidenceOut]


class ReviewOut(BaseModel):
    id: int | None
    decision: str
    note: str
    reviewer: str
    response: str | None
    response_source: str | None
    created_at: datetime | None


class FlagDetailOut(FlagOut):
    reviews: list[ReviewOut]


class ResponseIn(BaseModel):
    """The company's response to the allegation, and where it was reported."""

    model_config = ConfigDict(extra="forbid")

    value: Response
    source: (
        Annotated[str, Field(max_length=2000, pattern=SOURCE_PATTERN)] | SkipJsonSchema[None]
    ) = None


class ReviewIn(BaseModel):
    """A review decision and/or the company's response, with an optional precondition.

    Send `expected_version` (the flag's `review_version` you saw) or `expected_status` to
    be refused with 409 if someone reviewed the flag in between.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["decision"]}, {"required": ["response"]}]},
    )

    decision: Decision | SkipJsonSchema[None] = None
    note: str = Field("", max_length=5000, pattern=NOTE_PATTERN)
    response: ResponseIn | SkipJsonSchema[None] = None
    expected_version: Annotated[int, Field(ge=0, le=2_147_483_647)] | SkipJsonSchema[None] = None
    expected_status: FlagStatus | SkipJsonSchema[None] = None


class ReviewResult(BaseModel):
    review: ReviewOut
    flag_id: int
    status: str
    review_version: int


class PledgeRow(BaseModel):
    id: str
    company: str
    title: str
    kind: str
    status: str
    made_on: date
    effective_until: date | None
    retired: bool
    open_flags: int
    confirmed_flags: int
    dismissed_flags: int
    open_stories: int = Field(description="Stories (incidents) with an open flag, none confirmed")
    confirmed_breaches: int = Field(description="Confirmed stories that are breaches")
    confirmed_rollbacks: int = Field(description="Confirmed stories that are rollbacks")
    dismissed_stories: int = Field(description="Stories whose every flag was dismissed")


class CompanyRef(BaseModel):
    id: int | None
    name: str
    aliases: list[str]
    products: list[str]


class HistoryOut(BaseModel):
    date: date
    event: str
    source: str | None


class IncidentSummary(BaseModel):
    id: int | None
    title: str
    first_published: datetime | None
    last_published: datetime | None
    status: str
    kinds: list[str]
    flag_ids: list[int]
    outlets: int


class ConfirmedStory(IncidentSummary):
    """A confirmed story: its confirmed flags, and one kind (breach if any flag is one)."""

    kind: str
    flags: list[FlagOut]


class StoryCounts(BaseModel):
    """Stories (incidents; two outlets on one claim are one story) by outcome."""

    open_stories: int
    confirmed_breaches: int
    confirmed_rollbacks: int
    dismissed_stories: int


class TimelineEntry(BaseModel):
    date: date
    kind: Literal["made", "event", "incident", "ends"]
    text: str
    source: str | None
    status: str | None
    incident_id: int | None
    flag_ids: list[int]


class PledgeDetail(BaseModel):
    id: str
    company: CompanyRef
    title: str
    kind: str
    status: str
    statement: str
    made_on: date
    effective_until: date | None
    subject: list[str]
    scope: list[str]
    sources: list[str]
    retired: bool
    history: list[HistoryOut]
    flags: list[FlagOut]
    confirmed: list[FlagOut]
    confirmed_stories: list[ConfirmedStory]
    story_counts: StoryCounts
    incidents: list[IncidentSummary]
    timeline: list[TimelineEntry]


class IncidentRow(BaseModel):
    id: int | None
    pledge_id: str
    pledge_title: str
    company: str
    title: str
    first_published: datetime | None
    last_published: datetime | None
    first_seen_at: datetime | None
    flag_count: int
    status: str


class IncidentDetail(IncidentRow):
    flags: list[FlagOut]


class CompanyRow(BaseModel):
    id: int | None
    name: str
    aliases: list[str]
    products: list[str]
    pledge_count: int
    open_flags: int
    confirmed_flags: int
    incident_count: int
    open_stories: int
    confirmed_breaches: int
    confirmed_rollbacks: int
    dismissed_stories: int


class CompanyDetail(BaseModel):
    id: int | None
    name: str
    aliases: list[str]
    products: list[str]
    pledge_count: int
    open_flags: int
    confirmed_flags: int
    incident_count: int
    open_stories: int
    confirmed_breaches: int
    confirmed_rollbacks: int
    dismissed_stories: int
    pledges: list[PledgeRow]
    incidents: list[IncidentRow]


class LinkedFlag(BaseModel):
    id: int | None
    pledge_id: str
    kind: str
    status: str
    score: float


class SearchHit(BaseModel):
    """An article matching a search; marks are [start, end) offsets of matched words."""

    id: int
    title: str
    title_marks: list[tuple[int, int]]
    url: str | None
    published: datetime | None
    published_estimated: bool
    snippet: str
    snippet_marks: list[tuple[int, int]]
    flags: list[LinkedFlag]


class FeedOut(BaseModel):
    """A feed and its health (`state`: new, ok, degraded, failing or gone)."""

    id: int
    url: str
    name: str | None
    state: str
    created_at: datetime | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    consecutive_errors: int
    failing_since: datetime | None
    error_kind: str | None
    last_error: str | None
    degraded_reason: str | None
    next_due_at: datetime | None
    interval_seconds: int
    entry_count: int
    gone: bool


class FeedIn(BaseModel):
    """A feed to poll: an http(s) URL that passes the address-safety check."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    name: str | None = Field(None, max_length=300)
    interval_minutes: int | None = Field(None, ge=5, le=7 * 24 * 60)


class DigestPeriod(BaseModel):
    """One digest week: how many recipients it went to and how delivery went."""

    period: str
    recipients: int
    sent: int
    pending: int
    failed: int
    first_sent_at: datetime | None
    last_sent_at: datetime | None


class PollAccepted(BaseModel):
    detail: str
