"""The web pages: pledges, a pledge, a flag, the review inbox, search and sign-in."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.api.deps import check_caller, clean, context
from monitor.flags.review import (
    RESPONSES,
    ReviewError,
    StaleReviewError,
    UnknownFlagError,
    review_flag,
)
from monitor.query.articles import get_article
from monitor.query.companies import get_company, list_companies
from monitor.query.filters import UnknownFilterValue, row_id
from monitor.query.flags import get_flag
from monitor.query.pledges import get_pledge, list_pledges
from monitor.query.search import count_articles, search_articles
from monitor.store.models import Flag
from monitor.web.flash import flash_from, next_open_flag, with_flash
from monitor.web.render import render
from monitor.web.session import (
    WebUser,
    current_user,
    offer_signin,
    safe_next,
    sign_in,
    sign_out,
    signin_token,
    valid_form,
    valid_signin,
)

router = APIRouter(include_in_schema=False)
SEARCH_PAGE = 20


def _page(
    request: Request, template: str, user: WebUser | None, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    return render(
        template, status_code, user=user, path=request.url.path, responses=RESPONSES, **ctx
    )


def _error(
    request: Request, user: WebUser | None, status_code: int, title: str, message: str
) -> HTMLResponse:
    return _page(request, "error.html.j2", user, status_code, title=title, message=message)


def _viewer(request: Request) -> tuple[WebUser | None, Response | None]:
    """The signed-in user, or a redirect to sign-in when reads are not public."""
    user = current_user(request)
    if user is None and not context(request).settings.api.public_reads:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return None, RedirectResponse(f"/signin?next={_quote(target)}", status_code=303)
    return user, None


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")


def _int(value: str | None, default: int | None = None) -> int | None:
    n = row_id((value or "").strip())
    return default if n is None else n


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    with context(request).db.session() as session:
        pledges = list_pledges(session)
    return _page(request, "pledges.html.j2", user, pledges=pledges)


@router.get("/companies", response_class=HTMLResponse)
def companies_page(request: Request) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    with context(request).db.session() as session:
        rows = list_companies(session)
    return _page(request, "companies.html.j2", user, companies=rows)


@router.get("/companies/{key}", response_class=HTMLResponse)
def company_page(request: Request, key: str) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    name = clean(key) or ""
    data = None
    if name and len(name) <= 200:
        with context(request).db.session() as session:
            data = get_company(session, name)
    if data is None:
        return _error(request, user, 404, "Company not found", f"There is no company “{key}”.")
    return _page(request, "company.html.j2", user, c=data)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: str) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    number = _int(article_id)
    data = None
    if number is not None:
        with context(request).db.session() as session:
            data = get_article(session, number)
    if data is None:
        return _error(
            request, user, 404, "Article not found", f"There is no article “{article_id}”."
        )
    return _page(request, "article.html.j2", user, a=data)


@router.get("/pledges/{pledge_id}", response_class=HTMLResponse)
def pledge_page(request: Request, pledge_id: str) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    with context(request).db.session() as session:
        data = get_pledge(session, clean(pledge_id) or "")
    if data is None:
        return _error(
            request, user, 404, "Pledge not found", f"There is no pledge with id “{pledge_id}”."
        )
    return _page(request, "pledge.html.j2", user, p=data)


@router.get("/flags/{flag_id}", response_class=HTMLResponse)
def flag_page(request: Request, flag_id: str) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    fid = _int(flag_id)
    data = None
    if fid is not None:
        with context(request).db.session() as session:
            data = get_flag(session, fid)
    if data is None:
        return _error(request, user, 404, "Flag not found", f"There is no flag “{flag_id}”.")
    flash = flash_from(request)
    upcoming = None
    if flash is not None:
        with context(request).db.session() as session:
            upcoming = next_open_flag(session, {data["id"], *flash["flags"]})
    return _page(request, "flag.html.j2", user, f=data, flash=flash, upcoming=upcoming)


@router.post("/flags/{flag_id}/review", response_class=HTMLResponse)
def review_post(
    request: Request,
    flag_id: str,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    response: Annotated[str, Form()] = "",
    response_source: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    user = current_user(request)
    if user is None:
        return _error(
            request,
            None,
            401,
            "Sign in to review",
            "Your session has ended or you are not signed in. Sign in with your "
            "token, then review the flag again.",
        )
    if not valid_form(request, csrf):
        return _error(
            request,
            user,
            403,
            "Form expired",
            "This form does not belong to your session. Reload the page and try again.",
        )
    fid = _int(flag_id)
    if fid is None:
        return _error(request, user, 404, "Flag not found", f"There is no flag “{flag_id}”.")
    try:
        with context(request).db.write() as session:
            row = session.get(Flag, fid)
            before = row.status if row is not None else "open"
            review_flag(
                session=session,
                flag_id=fid,
                decision=decision or None,
                note=(note or "").strip(),
                reviewer=user.name,
                response=response or None,
                response_source=response_source or None,
                expected_version=_int(expected_version),
            )
    except UnknownFlagError:
        return _error(request, user, 404, "Flag not found", f"There is no flag “{flag_id}”.")
    except StaleReviewError as exc:
        return _page(
            request,
            "stale.html.j2",
            user,
            409,
            flag_id=fid,
            status=exc.current_status,
            message=str(exc),
        )
    except ReviewError as exc:
        return _error(request, user, 422, "Review not recorded", str(exc))
    target = safe_next(next, f"/flags/{fid}")
    if decision:
        # Back with what was done, so the page can offer Undo and the next open flag.
        target = with_flash(target, decision, [fid], [before])
    return RedirectResponse(target, status_code=303)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str | None = None,
    company: str | None = None,
    pledge: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: str | None = None,
) -> Response:
    user, redirect = _viewer(request)
    if redirect is not None:
        return redirect
    text = clean(q) or ""
    number = max(1, _int(page, 1) or 1)
    problems = [
        f"“{value}” is not a date; write it as YYYY-MM-DD (for example 2024-06-01)."
        for value in (since, until)
        if value and value.strip() and _date(value) is None
    ]
    args: dict[str, Any] = {
        "company": clean(company),
        "pledge": clean(pledge),
        "since": _date(since),
        "until": _date(until),
    }
    hits: list[dict[str, Any]] = []
    total = 0
    with context(request).db.session() as session:
        choices = {
            "companies": [c["name"] for c in list_companies(session)],
            "pledges": [(p["id"], f"{p['company']}: {p['title']}") for p in list_pledges(session)],
        }
        if text and not problems:
            try:
                hits = search_articles(
                    session, text, limit=SEARCH_PAGE, offset=(number - 1) * SEARCH_PAGE, **args
                )
                total = count_articles(session, text, **args)
            except UnknownFilterValue as exc:
                nearest = f" Did you mean {' or '.join(exc.nearest)}?" if exc.nearest else ""
                problems.append(f"There is no {exc.field} “{exc.value}”.{nearest}")
    form = {
        "q": text,
        "company": company or "",
        "pledge": pledge or "",
        "since": since or "",
        "until": until or "",
    }
    return _page(
        request,
        "search.html.j2",
        user,
        422 if problems else 200,
        form=form,
        hits=hits,
        total=total,
        page=number,
        pages=max(1, -(-total // SEARCH_PAGE)),
        problems=problems,
        **choices,
    )


def _signin_page(
    request: Request, next: str | None, status_code: int = 200, problem: str | None = None
) -> Response:
    csrf = signin_token(request)
    user = current_user(request) if status_code == 200 else None
    out = _page(
        request,
        "signin.html.j2",
        user,
        status_code,
        next=safe_next(next),
        problem=problem,
        signin_csrf=csrf,
    )
    offer_signin(out, request, csrf)
    return out


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request) -> Response:
    """Where a digest's List-Unsubscribe link lands: how to stop or change the digest."""
    sender = context(request).settings.digest.from_addr
    return _page(request, "unsubscribe.html.j2", None, sender=sender)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str | None = None) -> Response:
    return _signin_page(request, next)


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    # Without this, another site could sign a browser in under the attacker's token.
    if not valid_signin(request, csrf):
        return _signin_page(request, next, 403, "The sign-in form expired. Enter your token again.")
    token = clean(token) or ""
    result = check_caller(context(request), token)
    if not result.ok or result.token_id is None:
        problem = (
            "That token has been revoked."
            if result.status == "revoked"
            else "That token is not valid."
        )
        return _signin_page(request, next, 403 if result.status == "revoked" else 401, problem)
    out = RedirectResponse(safe_next(next, "/inbox"), status_code=303)
    sign_in(out, request, result.token_id)
    return out


@router.post("/signout", response_class=HTMLResponse)
def signout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    if not valid_form(request, csrf):
        return _error(
            request, current_user(request), 403, "Form expired", "Reload the page and try again."
        )
    out = RedirectResponse("/", status_code=303)
    sign_out(out, request)
    return out
