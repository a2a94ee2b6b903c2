"""POST /api/poll: poll every due feed now, in the background (token required)."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request

from monitor.api.deps import ApiContext, Writer, context
from monitor.api.errors import WRITE_ERRORS, responses
from monitor.api.schemas import PollAccepted

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["feeds"])


def polling_available() -> bool:
    """Whether this installation has the feed poller."""
    return importlib.util.find_spec("monitor.poll.cycle") is not None


def _poll(ctx: ApiContext, requested_by: str) -> None:
    from monitor.daemon.jobs import run_poll

    owner = f"api:{socket.gethostname()}:{os.getpid()}"
    outcome = run_poll(db=ctx.db, settings=ctx.settings, owner=owner)
    log.info("poll requested by token=%s ok=%s error=%s", requested_by, outcome.ok, outcome.error)


@router.post(
    "/poll",
    response_model=PollAccepted,
    status_code=202,
    responses={**WRITE_ERRORS, **responses(503)},
)
def poll(request: Request, caller: Writer, tasks: BackgroundTasks) -> dict[str, Any]:
    """Start polling every due feed; the answer comes at once, the poll runs after it."""
    if not polling_available():
        raise HTTPException(503, "feed polling is not available in this installation")
    tasks.add_task(_poll, context(request), caller.name)
    return {"detail": "poll started; see GET /api/feeds for feed health"}
