"""/api/flags and /api/incidents: possible breaches with evidence, and their reviews."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from monitor.api.deps import (
    MAX_ID,
    IsoDate,
    Limit,
    Offset,
    Reader,
    SessionDep,
    Writer,
    clean,
    context,
    json_response,
)
from monitor.api.errors import READ_ERRORS, WRITE_ERRORS, responses
from monitor.api.schemas import (
    FlagDetailOut,
    FlagKind,
    FlagOut,
    FlagStatus,
    IncidentDetail,
    IncidentRow,
    Page,
    ReviewIn,
    ReviewResult,
)
from monitor.flags.review import ReviewError, StaleReviewError, UnknownFlagError, review_flag
from monitor.query.filters import FlagFilter
from monitor.query.flags import count_flags, get_flag, list_flags, review_dict
from monitor.query.timeline import IncidentFilter, count_incidents, get_incident, list_incidents
from monitor.store.models import Flag

router = APIRouter(prefix="/api", tags=["flags"], responses=READ_ERRORS)
FlagId = Annotated[int, Path(ge=1, le=MAX_ID)]
Name = Annotated[str | None, Query(max_length=200)]


@router.get("/flags", response_model=Page[FlagOut])
def flags(
    session: SessionDep,
    _: Reader,
    limit: Limit = 50,
    offset: Offset = 0,
    pledge: Name = None,
    company: Annotated[str | None, Query(max_length=200, description="Name or alias")] = None,
    kind: FlagKind | None = None,
    status: FlagStatus | None = None,
    since: Annotated[IsoDate | None, Query(description="Published on or after")] = None,
    until: Annotated[IsoDate | None, Query(description="Published on or before")] = None,
    incident: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Active flags, newest article first (the filters of `pledgewatch flags list`)."""
    filt = FlagFilter(
        pledge=clean(pledge),
        company=clean(company),
        kind=kind,
        status=status,
        since=since,
        until=until,
        incident=incident,
        limit=limit,
        offset=offset,
    )
    # The busiest endpoint: rows are already in their public shape (FlagOut), so they are
    # serialised directly instead of being validated again.
    return json_response(
        {
            "items": list_flags(session, filt),
            "total": count_flags(session, filt),
            "limit": limit,
            "offset": offset,
        }
    )


@router.get("/flags/{flag_id}", response_model=FlagDetailOut, responses=responses(404))
def flag(session: SessionDep, _: Reader, flag_id: FlagId) -> dict[str, Any]:
    """One flag: evidence, reasons, the company's response and the review log."""
    data = get_flag(session, flag_id)
    if data is None:
        raise HTTPException(404, f"no flag with id {flag_id}")
    return data


@router.post(
    "/flags/{flag_id}/reviews",
    response_model=ReviewResult,
    status_code=201,
    responses={**WRITE_ERRORS, **responses(404, 409)},
)
def review(request: Request, caller: Writer, flag_id: FlagId, body: ReviewIn) -> dict[str, Any]:
    """Append a review: a decision, the company's response, or both (token required).

    Send `expected_version` (or `expected_status`) to get 409 instead of overwriting a
    decision someone made after you loaded the flag.
    """
    try:
        with context(request).db.write() as session:
            r = review_flag(
                session=session,
                flag_id=flag_id,
                decision=body.decision,
                note=body.note,
                reviewer=caller.name,
                response=body.response.value if body.response else None,
                response_source=body.response.source if body.response else None,
                expected_version=body.expected_version,
                expected_status=body.expected_status,
            )
            current = session.get(Flag, flag_id)
            assert current is not None
            result = {
                "review": review_dict(r),
                "flag_id": flag_id,
                "status": current.status,
                "review_version": current.review_version,
            }
    except UnknownFlagError as exc:
        raise HTTPException(404, str(exc)) from exc
    except StaleReviewError as exc:
        raise HTTPException(409, str(exc)) from exc
    except ReviewError as exc:
        raise HTTPException(422, str(exc)) from exc
    return result


@router.get("/incidents", response_model=Page[IncidentRow], tags=["incidents"])
def incidents(
    session: SessionDep,
    _: Reader,
    limit: Limit = 50,
    offset: Offset = 0,
    pledge: Name = None,
    company: Name = None,
    status: FlagStatus | None = None,
    since: IsoDate | None = None,
) -> dict[str, Any]:
    """Stories (flags grouped across outlets), newest first."""
    filt = IncidentFilter(
        pledge=clean(pledge),
        company=clean(company),
        status=status,
        since=since,
        limit=limit,
        offset=offset,
    )
    return {
        "items": list_incidents(session, filt),
        "total": count_incidents(session, filt),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentDetail,
    tags=["incidents"],
    responses=responses(404),
)
def incident(
    session: SessionDep, _: Reader, incident_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> dict[str, Any]:
    """One incident with all its flags."""
    data = get_incident(session, incident_id)
    if data is None:
        raise HTTPException(404, f"no incident with id {incident_id}")
    return data
