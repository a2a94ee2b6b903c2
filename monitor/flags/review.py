"""Review decisions: an append-only log; a flag's status is its latest decision.

Every decision (confirm, dismiss, reopen) or record of the company's response is a new
`Review` row; nothing is ever updated or deleted in the log. Two reviewers acting at once
are both recorded; a reviewer who says which version of the flag they saw
(`expected_version`, the flag's `review_version`, or `expected_status`) is refused with
`StaleReviewError` when someone else reviewed it in between.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel import Session, select

from monitor.store.models import Flag, Review

DECISIONS = ("confirmed", "dismissed", "open")
# A review that only records the company's response and leaves the status alone.
RESPONSE_ONLY = "response"
# The company's answer as reported: a right of reply, with where it was reported.
RESPONSES = ("denied", "admitted", "partly-admitted", "no-comment")
MAX_NOTE_CHARS = 5000
# Notes and names are printed by `flags show` and the digest: no terminal escapes or other
# controls (line breaks and tabs kept), no bidi marks that reorder what is shown.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# The same rule as a pattern for the API schema, so clients see it before they send.
NOTE_PATTERN = f"^[^{_CONTROLS}]*$"
# http(s), a host, no spaces or control characters (the API schema uses the same pattern).
SOURCE_PATTERN = r"^https?://[^\x00-\x20\x7f/?#]+[^\x00-\x20\x7f]*$"


class ReviewError(Exception):
    """A review could not be recorded (unknown flag, bad decision, stale write)."""

    def __init__(self, message: str, *, flag_id: int | None = None) -> None:
        super().__init__(message)
        self.flag_id = flag_id


class UnknownFlagError(ReviewError):
    """No flag has this id."""


class StaleReviewError(ReviewError):
    """The flag was reviewed by someone else since the reviewer looked at it."""

    def __init__(
        self, message: str, *, flag_id: int, current_version: int, current_status: str
    ) -> None:
        super().__init__(message, flag_id=flag_id)
        self.current_version = current_version
        self.current_status = current_status


def check_source(url: str | None) -> str | None:
    """A response source must be an http(s) URL (it is shown as a link)."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if not re.fullmatch(SOURCE_PATTERN, url):
        raise ReviewError(f"response source must be an http(s) URL, not {url!r}")
    return url


def review_flag(
    *,
    session: Session,
    flag_id: int,
    decision: str | None = None,
    note: str = "",
    reviewer: str = "",
    response: str | None = None,
    response_source: str | None = None,
    expected_version: int | None = None,
    expected_status: str | None = None,
    now: datetime | None = None,
) -> Review:
    """Append a review and update the flag's status, in the caller's write transaction.

    `decision` None records only the company's `response` (with its source).
    """
    if decision is not None and decision not in DECISIONS:
        raise ReviewError(
            f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}", flag_id=flag_id
        )
    if response is not None and response not in RESPONSES:
        raise ReviewError(
            f"response must be one of {', '.join(RESPONSES)}, not {response!r}", flag_id=flag_id
        )
    if decision is None and response is None:
        raise ReviewError("give a decision, a company response, or both", flag_id=flag_id)
    if response is None and response_source:
        raise ReviewError("a response source needs a response", flag_id=flag_id)
    if len(note) > MAX_NOTE_CHARS:
        raise ReviewError(f"note is {len(note)} characters, over {MAX_NOTE_CHARS}", flag_id=flag_id)
    for name, value in (("note", note), ("reviewer", reviewer)):
        if _CONTROL.search(value):
            raise ReviewError(
                f"{name} contains a control character or a bidi mark", flag_id=flag_id
            )
    source = check_source(response_source)
    # Row lock on PostgreSQL; SQLite's write transaction is already exclusive.
    flag = session.exec(select(Flag).where(Flag.id == flag_id).with_for_update()).first()
    if flag is None:
        raise UnknownFlagError(f"no flag with id {flag_id}", flag_id=flag_id)
    stale = (expected_version is not None and expected_version != flag.review_version) or (
        expected_status is not None and expected_status != flag.status
    )
    if stale:
        raise StaleReviewError(
            f"flag {flag_id} was reviewed since you loaded it: it is now {flag.status} "
            f"(version {flag.review_version}); reload it and decide again",
            flag_id=flag_id,
            current_version=flag.review_version,
            current_status=flag.status,
        )
    now = now or datetime.now(UTC)
    review = Review(
        flag_id=flag_id,
        decision=decision or RESPONSE_ONLY,
        note=note,
        reviewer=reviewer,
        response=response,
        response_source=source,
        created_at=now,
    )
    session.add(review)
    if decision is not None:
        flag.status = decision
    flag.review_version += 1
    flag.updated_at = now
    session.add(flag)
    session.flush()
    return review
