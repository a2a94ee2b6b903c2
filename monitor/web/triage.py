"""The review inbox: filters kept in the URL, stories grouped, decisions with Undo.

Every filter and the sort are query parameters, so a filtered inbox is a link an analyst
can keep or send. A decision (on one flag or on every flag of a story) redirects back to
the same URL with what was done and what each flag was before, so the page can offer
Undo; Undo appends reviews that restore those statuses (the log is never rewritten).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from feeds.subscriptions import list_feeds
from monitor.api.deps import clean, context
from monitor.flags.review import (
    DECISIONS,
    ReviewError,
    StaleReviewError,
    UnknownFlagError,
    review_flag,
)
from monitor.query.companies import list_companies
from monitor.query.filters import (
    FLAG_KINDS,
    FLAG_ORDERS,
    FLAG_STATUSES,
    FlagFilter,
    UnknownFilterValue,
)
from monitor.query.flags import count_flags, list_flags
from monitor.query.pledges import list_pledges
from monitor.store.models import Flag
from monitor.web.flash import flash_from, next_open_flag, with_flash
from monitor.web.pages import _error, _int, _page, _viewer
from monitor.web.session import current_user, safe_next, valid_form

router = APIRouter(include_in_schema=False)
INBOX_PAGE = 30
ORDER_LABELS = {
    "raised": "Newest raised",
    "score": "Highest score",
    "published": "Newest article",
}
# Query parameters that are filters (kept in links, forms and redirects).
FILTER_KEYS = ("company", "pledge", "kind", "status", "min_score", "feed", "raised_since", "sort")


@dataclass(frozen=True)
class InboxQuery:
    """The inbox's filters as read from the URL, and what was wrong with them."""

    values: dict[str, str]
    filt: FlagFilter
    problems: list[str]

    def link(self, **changes: Any) -> str:
        """This inbox's URL with some parameters changed (None drops one)."""
        params = {**self.values, **changes}
        kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
        return "/inbox" + (f"?{urlencode(kept)}" if kept else "")


def read_query(request: Request) -> InboxQuery:
    """Filters from the query string; bad values become messages, never a silent miss."""
    q = request.query_params
    values = {k: clean(q.get(k)) or "" for k in FILTER_KEYS}
    problems: list[str] = []
    status = values["status"] or "open"
    if status not in (*FLAG_STATUSES, "any"):
        problems.append(f"Status “{status}” is not one of open, confirmed, dismissed or any.")
        status = "open"
    kind = values["kind"] or None
    if kind is not None and kind not in FLAG_KINDS:
        problems.append(f"Kind “{kind}” is not breach or rollback.")
        kind = None
    order = values["sort"] or "raised"
    if order not in FLAG_ORDERS:
        problems.append(f"Sort “{order}” is not one of {', '.join(FLAG_ORDERS)}.")
        order = "raised"
    min_score = None
    if values["min_score"]:
        try:
            min_score = float(values["min_score"])
        except ValueError:
            min_score = None
        if min_score is None or not 0 <= min_score <= 1:
            problems.append(f"Score “{values['min_score']}” is not a number between 0 and 1.")
            min_score = None
    feed = None
    if values["feed"]:
        feed = _int(values["feed"])
        if feed is None:
            problems.append(f"Feed “{values['feed']}” is not a feed number.")
    raised_since = None
    if values["raised_since"]:
        try:
            raised_since = date.fromisoformat(values["raised_since"])
        except ValueError:
            problems.append(
                f"“{values['raised_since']}” is not a date; write it as YYYY-MM-DD "
                "(for example 2024-06-01)."
            )
    page = max(1, _int(q.get("page"), 1) or 1)
    filt = FlagFilter(
        company=values["company"] or None,
        pledge=values["pledge"] or None,
        kind=kind,
        status=None if status == "any" else status,
        min_score=min_score,
        feed=feed,
        raised_since=raised_since,
        order=order,
        limit=INBOX_PAGE,
        offset=(page - 1) * INBOX_PAGE,
    )
    return InboxQuery(values=values, filt=filt, problems=problems)


def stories(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's flags grouped by incident, in the order each story first appears."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for f in flags:
        key = ("incident", f["incident_id"]) if f["incident_id"] is not None else ("flag", f["id"])
        groups.setdefault(key, []).append(f)
    return [
        {"incident_id": k[1] if k[0] == "incident" else None, "flags": v} for k, v in groups.items()
    ]


def _choices(session: Session) -> dict[str, Any]:
    return {
        "companies": [c["name"] for c in list_companies(session)],
        "pledges": [(p["id"], f"{p['company']}: {p['title']}") for p in list_pledges(session)],
        "feeds": [(f.id, f.name or f.url) for f in list_feeds(session)],
    }


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    query = read_query(request)
    if any(k in request.query_params and not request.query_params[k] for k in FILTER_KEYS):
        # A submitted filter form names every field; the permalink keeps only those set.
        return RedirectResponse(query.link(), status_code=302)
    problems = list(query.problems)
    flags: list[dict[str, Any]] = []
    total = 0
    with context(request).db.session() as session:
        choices = _choices(session)
        if not problems:
            try:
                flags = list_flags(session, query.filt)
                total = count_flags(session, query.filt)
            except UnknownFilterValue as exc:
                problems.append(_unknown(exc))
        flash = flash_from(request)
        upcoming = next_open_flag(session, set(flash["flags"])) if flash else None
    page = query.filt.offset // INBOX_PAGE + 1
    here = query.link(page=page if page > 1 else None)
    return _page(
        request,
        "inbox.html.j2",
        user,
        422 if problems else 200,
        q=query,
        status=query.values["status"] or "open",
        order=query.filt.order,
        orders=ORDER_LABELS,
        kinds=FLAG_KINDS,
        statuses=FLAG_STATUSES,
        problems=problems,
        stories=stories(flags),
        total=total,
        page=page,
        pages=max(1, -(-total // INBOX_PAGE)),
        here=here,
        flash=flash,
        upcoming=upcoming,
        scripts=["/static/inbox.js"],
        **choices,
    )


def _unknown(exc: UnknownFilterValue) -> str:
    nearest = f" Did you mean {' or '.join(exc.nearest)}?" if exc.nearest else ""
    return f"There is no {exc.field} “{exc.value}”.{nearest}"


@router.post("/inbox/review", response_class=HTMLResponse)
def review_many(
    request: Request,
    flag: Annotated[list[str], Form()],
    decision: Annotated[str, Form()] = "",
    was: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """One decision for several flags (a story), or Undo of the last one, in one write."""
    user = current_user(request)
    if user is None:
        return _error(
            request, None, 401, "Sign in to review", "Sign in with your token, then try again."
        )
    if not valid_form(request, csrf):
        return _error(
            request,
            user,
            403,
            "Form expired",
            "This form does not belong to your session. Reload the page and try again.",
        )
    items: list[tuple[int, int | None]] = []
    for value in flag[:500]:
        given, _, version = value.partition(":")
        number = _int(given)
        if number is None:
            return _error(request, user, 404, "Flag not found", f"There is no flag “{given}”.")
        items.append((number, _int(version) if version else None))
    undo = decision == "undo"
    restore = was.split(",") if undo else []
    if undo and (len(restore) != len(items) or any(s not in DECISIONS for s in restore)):
        return _error(request, user, 422, "Undo not recorded", "The undo form is damaged.")
    if not undo and decision not in DECISIONS:
        return _error(request, user, 422, "Review not recorded", "Choose confirm or dismiss.")
    before: list[str] = []
    try:
        with context(request).db.write() as session:
            for n, (number, expected) in enumerate(items):
                row = session.get(Flag, number)
                before.append(row.status if row is not None else "open")
                review_flag(
                    session=session,
                    flag_id=number,
                    decision=restore[n] if undo else decision,
                    note=(note or "").strip() or ("undo" if undo else ""),
                    reviewer=user.name,
                    expected_version=expected,
                )
    except UnknownFlagError as exc:
        return _error(request, user, 404, "Flag not found", str(exc))
    except StaleReviewError as exc:
        return _page(
            request,
            "stale.html.j2",
            user,
            409,
            flag_id=exc.flag_id,
            status=exc.current_status,
            message=str(exc),
        )
    except ReviewError as exc:
        return _error(request, user, 422, "Review not recorded", str(exc))
    target = safe_next(next, "/inbox")
    done = "undone" if undo else decision
    return RedirectResponse(
        with_flash(target, done, [number for number, _ in items], before), status_code=303
    )
