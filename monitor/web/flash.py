"""What the last review decision did, carried in the redirect's URL for Undo."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from sqlmodel import Session

from monitor.flags.review import DECISIONS
from monitor.query.filters import FlagFilter, row_id
from monitor.query.flags import list_flags


def flash_from(request: Request) -> dict[str, Any] | None:
    """What the last decision did, from the redirect's parameters (for Undo)."""
    q = request.query_params
    done = q.get("done", "")
    ids = [row_id(i.strip()) for i in q.get("flags", "").split(",")]
    was = q.get("was", "").split(",")
    if done not in (*DECISIONS, "undone") or not ids or None in ids or len(was) != len(ids):
        return None
    if any(w not in DECISIONS for w in was):
        return None
    return {"done": done, "flags": ids, "was": was}


def with_flash(url: str, done: str, flags: list[int], was: list[str]) -> str:
    """`url` with the flash parameters for a decision on `flags` (replacing old ones)."""
    path, _, query = url.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k not in ("done", "flags", "was", "page")]
    kept += [("done", done), ("flags", ",".join(map(str, flags))), ("was", ",".join(was))]
    return f"{path}?{urlencode(kept)}"


def next_open_flag(session: Session, after: set[int]) -> int | None:
    """The newest-raised open flag not among `after` (what to review next)."""
    rows = list_flags(session, FlagFilter(status="open", order="raised", limit=len(after) + 1))
    return next((f["id"] for f in rows if f["id"] not in after), None)
