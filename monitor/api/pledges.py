"""/api/pledges and /api/companies: the catalogue with flag counts, timelines, incidents."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from monitor.api.deps import Limit, Offset, Reader, SessionDep, clean
from monitor.api.errors import READ_ERRORS, responses
from monitor.api.schemas import CompanyDetail, CompanyRow, Page, PledgeDetail, PledgeRow
from monitor.query.companies import get_company, list_companies
from monitor.query.pledges import get_pledge, list_pledges

PledgeStatus = Literal["active", "expired", "withdrawn", "fulfilled"]
router = APIRouter(prefix="/api", tags=["pledges"], responses=READ_ERRORS)


def page(rows: list[Any], limit: int, offset: int) -> dict[str, Any]:
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


@router.get("/pledges", response_model=Page[PledgeRow])
def pledges(
    session: SessionDep,
    _: Reader,
    limit: Limit = 50,
    offset: Offset = 0,
    company: Annotated[str | None, Query(max_length=200, description="Name or alias")] = None,
    status: PledgeStatus | None = None,
    include_retired: bool = False,
) -> dict[str, Any]:
    """Pledges by company, with open, confirmed and dismissed flag counts."""
    rows = list_pledges(
        session, company=clean(company), status=status, include_retired=include_retired
    )
    return page(rows, limit, offset)


@router.get("/pledges/{pledge_id}", response_model=PledgeDetail, responses=responses(404))
def pledge(
    session: SessionDep, _: Reader, pledge_id: Annotated[str, Path(max_length=200)]
) -> dict[str, Any]:
    """One pledge: statement, sources, history, flags, incidents and its timeline."""
    data = get_pledge(session, clean(pledge_id) or "")
    if data is None:
        raise HTTPException(404, f"no pledge with id {pledge_id!r}")
    return data


@router.get("/companies", response_model=Page[CompanyRow], tags=["companies"])
def companies(
    session: SessionDep, _: Reader, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Companies with pledge, flag and incident counts."""
    return page(list_companies(session), limit, offset)


@router.get(
    "/companies/{company}",
    response_model=CompanyDetail,
    tags=["companies"],
    responses=responses(404),
)
def company(
    session: SessionDep,
    _: Reader,
    company: Annotated[str, Path(max_length=200, description="Company id, name or alias")],
) -> dict[str, Any]:
    """One company: aliases, products, pledges and latest incidents."""
    key = clean(company) or ""
    data = get_company(session, key) if key else None
    if data is None:
        raise HTTPException(404, f"no company {company!r}")
    return data
