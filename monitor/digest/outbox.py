"""The digest outbox: each (week, recipient) is claimed once in the database, then sent.

`send_due_digests` is an idempotent check the daemon runs every few minutes and the CLI
runs on demand:

1. Work out the due weeks: the newest week whose send time (the configured weekday and
   HH:MM, in the configured zone, of the following week) has passed, plus up to
   `catch_up_weeks` earlier weeks missed while no daemon ran (only weeks after the
   recipient's first digest, so a new install or a new recipient does not get a backlog,
   and only weeks after the newest one the recipient already has a row for, so a clock
   set back never brings up an older week).
2. Insert a `digests` row per (week, recipient), `ON CONFLICT DO NOTHING` on the unique
   key: however many daemons race, each row exists once.
3. Claim rows one at a time with a conditional UPDATE to `sending` with a lease
   (owner, expiry): only one process wins a row; a row left in `sending` by a crashed
   process is claimed again once its lease has expired, or at once when its owner is
   proven dead (see `monitor.daemon.rows.why_dead`). Each recipient gets weeks in order:
   a week waits while an older one of theirs is pending or being sent, and a week older
   than one already sent to them is skipped, never sent. A week named by the operator
   (`digest send --week`) is exempt: it goes to every recipient not yet sent it, skipped
   rows included (and failed ones with `--retry-failed`); a sent row is never claimed.
4. Render, send, and mark `sent` when the server accepts the message. A temporary
   failure puts the row back to `pending` with a growing delay; a permanent one (5xx,
   failed login, refused recipient) marks it `failed`, with no retry loop. When the
   server cannot be reached at all, the run stops and leaves the rest pending.
   SMTP trouble short of a 5xx (down, hung, 4xx) would hit the recipient's later weeks
   too, so it is retried in order for as long as it lasts. A week whose digest cannot be
   built is the week's own fault: it is retried the same way until it has been tried
   `[digest] max_attempts` times, then marked `failed` so it stops holding back the
   recipient's later weeks. A failed week leaves the order: later weeks go out, and
   `digest send --week W --retry-failed` sends it after a fix.

Delivery is at least once: a crash after the server's 250 and before the row is marked
sent means the message goes out again, with the same Message-ID (which depends only on
week and recipient), so mail clients can tell it is the same message.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from monitor.config import Settings, Subscription
from monitor.digest.content import DigestData, build_digest
from monitor.digest.data import load_digest_data
from monitor.digest.mailer import MailError, build_message, message_id, send
from monitor.digest.periods import Period, due_periods
from monitor.digest.render import render_html, render_text, subject
from monitor.store.db import Database, as_utc
from monitor.store.models import Digest
from monitor.store.owners import dead_owners, owner_name

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Outcome:
    """What happened to one (week, recipient) in this run."""

    period: str
    recipient: str
    status: str  # sent | skipped | failed | pending
    error: str | None = None


@dataclass
class SendReport:
    """What a run of the outbox did."""

    periods: list[str] = field(default_factory=list)
    created: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    # Set when the SMTP server could not be reached: the run stopped there.
    stopped_by: MailError | None = None

    def _with(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def sent(self) -> list[Outcome]:
        return self._with(SENT)

    @property
    def failed(self) -> list[Outcome]:
        return self._with(FAILED)

    @property
    def deferred(self) -> list[Outcome]:
        return self._with(PENDING)

    @property
    def skipped(self) -> list[Outcome]:
        return self._with(SKIPPED)


def default_owner() -> str:
    """`host:pid:send@scope`, naming this process on the leases it takes."""
    return owner_name("send")


def recipients(settings: Settings) -> list[tuple[str, Subscription | None]]:
    """Everyone who gets the digest: `to` gets everything, subscriptions their part."""
    out: dict[str, tuple[str, Subscription | None]] = {}
    for addr in settings.digest.to:
        addr = addr.strip()
        if addr:
            out.setdefault(addr.casefold(), (addr, None))
    for sub in settings.digest.subscriptions:
        addr = sub.email.strip()
        if addr:
            out.setdefault(addr.casefold(), (addr, sub))
    return list(out.values())


def retry_delay(attempts: int) -> timedelta:
    """5 min after the first failure, doubling, at most 6 h."""
    delay: timedelta = RETRY_FIRST * (2 ** max(0, min(attempts - 1, 20)))
    return min(delay, RETRY_MAX)


def _insert_ignore(db: Database, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns how many rows were new."""
    if not rows:
        return 0
    dialect = postgresql if db.dialect == "postgresql" else sqlite
    stmt = (
        dialect.insert(Digest)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["period", "recipient"])
        .returning(col(Digest.id))
    )
    with db.write() as session:
        return len(session.execute(stmt).all())


def claim_periods(
    *,
    db: Database,
    settings: Settings,
    now: datetime,
    week: Period | None = None,
) -> tuple[list[Period], int]:
    """Write the outbox rows for the due weeks (or `week`); returns weeks and rows added."""
    d = settings.digest
    people = recipients(settings)
    if week is not None:
        periods = [week]
    else:
        periods = due_periods(
            now, weekday=d.weekday, at=d.time, zone=d.zone, catch_up_weeks=d.catch_up_weeks
        )
    with db.session() as session:
        first_seen: dict[str, datetime] = {}
        newest: dict[str, Period] = {}
        for addr, created, period in session.exec(
            select(Digest.recipient, func.min(Digest.created_at), func.max(Digest.period)).group_by(
                col(Digest.recipient)
            )
        ).all():
            key = addr.casefold()
            first_seen[key] = min(as_utc(created), first_seen.get(key, as_utc(created)))
            newest[key] = max(Period.parse(period), newest.get(key, Period.parse(period)))
    rows: list[dict[str, Any]] = []
    for addr, _ in people:
        wanted = list(periods)
        if week is None:
            anchor = first_seen.get(addr.casefold())
            latest = periods[-1]
            wanted = [latest] + [
                p
                for p in periods[:-1]
                if anchor is not None and p.send_at(d.weekday, d.time, d.zone) >= anchor
            ]
            # A clock set back makes an older week look due: only newer weeks are new.
            last = newest.get(addr.casefold())
            wanted = [p for p in wanted if last is None or p > last]
        for p in wanted:
            rows.append(
                {
                    "period": str(p),
                    "recipient": addr,
                    "status": PENDING,
                    "message_id": message_id(str(p), addr),
                    "subject": "",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    return periods, _insert_ignore(db, rows)


def _same_recipient() -> tuple[Any, Any]:
    """Another row of the outbox, and the condition that it is for the same recipient."""
    other = Digest.__table__.alias("other")  # type: ignore[attr-defined]
    return other, func.lower(other.c.recipient) == func.lower(col(Digest.recipient))


def _in_order() -> Any:
    """A row may go out: no older week of its recipient waits, no newer one went out."""
    other, same = _same_recipient()
    older_open = exists().where(
        same, other.c.period < col(Digest.period), other.c.status.in_((PENDING, SENDING))
    )
    return ~older_open & ~_newer_sent()


def _newer_sent() -> Any:
    other, same = _same_recipient()
    return exists().where(same, other.c.period > col(Digest.period), other.c.status == SENT)


def _skip_superseded(db: Database, now: datetime) -> int:
    """Skip waiting rows older than a week already sent to the same recipient.

    They arise from an explicit `--week` send of a newer week, or from older versions;
    sending them now would put an old week after a newer one in the reader's inbox.
    """
    unclaimed = or_(
        col(Digest.status) == PENDING,
        and_(
            col(Digest.status) == SENDING,
            col(Digest.lease_until).is_(None) | (col(Digest.lease_until) < now),
        ),
    )
    with db.write() as session:
        result = session.execute(
            update(Digest)
            .where(unclaimed, _newer_sent())
            .values(
                status=SKIPPED,
                last_error="a later week was already sent to this recipient",
                lease_owner=None,
                lease_until=None,
                next_attempt_at=None,
            )
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def _claim(
    db: Database,
    row_id: int,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    retry_now: bool,
    in_order: bool = True,
    reopen: Collection[str] = (),
    dead: Collection[str] = (),
) -> bool:
    """Move one row to `sending` under our lease, if nobody else holds it.

    `reopen` names finished states a person asked to send again (skipped, failed). The
    claim moves such a row straight to `sending`, so a regular run cannot skip it between
    a reset and the claim.
    """
    ready: Any = col(Digest.next_attempt_at).is_(None) | (col(Digest.next_attempt_at) <= now)
    if retry_now:
        ready = col(Digest.id).is_not(None)
    # A sender that crashed, or a daemon that released its leases on the way out.
    lapsed: Any = col(Digest.lease_until).is_(None) | (col(Digest.lease_until) < now)
    if dead:
        # A sender proven dead (its pid gone on this host, its daemon stopped) holds
        # nothing, whatever its lease says.
        lapsed = lapsed | col(Digest.lease_owner).in_(sorted(dead))
    stmt = (
        update(Digest)
        .where(
            col(Digest.id) == row_id,
            or_(
                and_(col(Digest.status) == PENDING, ready),
                and_(col(Digest.status) == SENDING, lapsed),
                col(Digest.status).in_(sorted(reopen)),
            ),
            _in_order() if in_order else col(Digest.id).is_not(None),
        )
        .values(
            status=SENDING,
            lease_owner=owner,
            lease_until=now + lease,
            attempts=col(Digest.attempts) + 1,
        )
    )
    with db.write() as session:
        result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _finish(db: Database, row_id: int, **values: Any) -> None:
    with db.write() as session:
        session.execute(
            update(Digest)
            .where(col(Digest.id) == row_id)
            .values(lease_owner=None, lease_until=None, **values)
        )


def send_due_digests(
    *,
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    owner: str | None = None,
    week: Period | str | None = None,
    retry_now: bool = False,
    retry_failed: bool = False,
) -> SendReport:
    """Send every due digest not yet sent (or `week`'s, for every recipient, now).

    An explicit `week` is sent to each recipient not yet sent it, even when a later week
    already went out (its skipped rows are claimed again). `retry_now` ignores the retry
    delay of pending rows (a person asked); `retry_failed` also gives `week`'s failed rows
    another try (after fixing the cause).
    """
    now = now or datetime.now(UTC)
    owner = owner or default_owner()
    period = Period.parse(week) if isinstance(week, str) else week
    report = SendReport()
    if not recipients(settings):
        log.info("no digest recipients configured")
        return report
    # A person naming a week means it: rows skipped (out of order, empty, recipient gone)
    # are tried again; failed ones only when asked, since they failed for good.
    reopen: tuple[str, ...] = ()
    if period is not None:
        reopen = (SKIPPED, FAILED) if retry_failed else (SKIPPED,)
    periods, report.created = claim_periods(db=db, settings=settings, now=now, week=period)
    report.periods = [str(p) for p in periods]
    if period is None:
        # An explicit week is a person's request; the regular run keeps each inbox in order.
        if skipped := _skip_superseded(db, now):
            log.warning("skipped %d digest(s) older than a week already sent", skipped)

    with db.session() as session:
        stmt = select(Digest).where(col(Digest.status).in_((PENDING, SENDING, *reopen)))
        if period is not None:
            stmt = stmt.where(col(Digest.period) == str(period))
        rows = session.exec(stmt.order_by(col(Digest.period), col(Digest.id))).all()
    dead = dead_owners(
        db,
        (r.lease_owner for r in rows if r.status == SENDING and r.lease_owner),
        now=now,
        me=owner,
    )
    for who, reason in dead.items():
        log.warning("taking back digests claimed by %s: %s", who, reason)

    # The lease outlasts one slow send, so a live sender is never taken over.
    lease = max(
        timedelta(seconds=settings.daemon.lease_seconds),
        timedelta(seconds=settings.smtp.timeout * 3 + 60),
    )
    people = {addr.casefold(): sub for addr, sub in recipients(settings)}
    cache: dict[str, DigestData] = {}
    for row in rows:
        assert row.id is not None
        key = row.recipient.casefold()
        if row.status in reopen and key not in people:
            continue  # finished for someone no longer a recipient: leave it be
        if not _claim(
            db,
            row.id,
            owner=owner,
            now=now,
            lease=lease,
            retry_now=retry_now,
            in_order=period is None,
            reopen=reopen,
            dead=dead,
        ):
            continue
        if key not in people:
            _finish(db, row.id, status=SKIPPED, last_error="no longer a recipient")
            report.outcomes.append(
                Outcome(row.period, row.recipient, SKIPPED, "no longer a recipient")
            )
            continue
        outcome, error = _deliver(
            db, row, settings=settings, now=now, cache=cache, subscription=people[key]
        )
        report.outcomes.append(outcome)
        if error is not None and error.connection:
            # The server is down or hung: the other rows would wait out the same timeout.
            report.stopped_by = error
            break
    return report


def _deliver(
    db: Database,
    row: Digest,
    *,
    settings: Settings,
    now: datetime,
    cache: dict[str, DigestData],
    subscription: Subscription | None,
) -> tuple[Outcome, MailError | None]:
    """Render and send one claimed row, and record how it went."""
    assert row.id is not None
    attempts = row.attempts + 1
    try:
        data = cache.get(row.period)
        if data is None:
            with db.session() as session:
                data = load_digest_data(
                    session, Period.parse(row.period), zone=settings.digest.timezone, now=now
                )
            cache[row.period] = data
        content = build_digest(data, subscription=subscription, base_url=settings.digest.base_url)
        title = subject(content)
        if content.empty and settings.digest.skip_empty:
            _finish(db, row.id, status=SKIPPED, subject=title, last_error=None)
            log.info("digest skipped (empty) period=%s recipient=%s", row.period, row.recipient)
            return Outcome(row.period, row.recipient, SKIPPED), None
        msg = build_message(
            subject=title,
            text=render_text(content),
            html=render_html(content),
            from_addr=settings.digest.from_addr,
            to=row.recipient,
            period=row.period,
            date=datetime.now(UTC),
            base_url=settings.digest.base_url,
            msgid=row.message_id or None,
        )
        send(msg, settings.smtp)
    except MailError as exc:
        error = str(exc)[:MAX_ERROR_CHARS]
        if exc.permanent:
            _finish(db, row.id, status=FAILED, last_error=error, next_attempt_at=None)
            log.error("digest failed period=%s recipient=%s: %s", row.period, row.recipient, error)
            return Outcome(row.period, row.recipient, FAILED, error), exc
        retry_at = now + retry_delay(attempts)
        _finish(db, row.id, status=PENDING, last_error=error, next_attempt_at=retry_at)
        log.warning(
            "digest not sent period=%s recipient=%s, retry after %s: %s",
            row.period,
            row.recipient,
            retry_at.isoformat(),
            error,
        )
        return Outcome(row.period, row.recipient, PENDING, error), exc
    except Exception as exc:
        # A bug or a database hiccup while rendering: keep the row, retry later, but only
        # so often, since a week that can never be built would hold back all later ones.
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        if attempts >= settings.digest.max_attempts:
            error = f"cannot build the digest (tried {attempts} times): {error}"
            error = error[:MAX_ERROR_CHARS]
            _finish(db, row.id, status=FAILED, last_error=error, next_attempt_at=None)
            log.exception("digest failed period=%s recipient=%s", row.period, row.recipient)
            return Outcome(row.period, row.recipient, FAILED, error), None
        _finish(
            db,
            row.id,
            status=PENDING,
            last_error=error,
            next_attempt_at=now + retry_delay(attempts),
        )
        log.exception("digest not sent period=%s recipient=%s", row.period, row.recipient)
        return Outcome(row.period, row.recipient, PENDING, error), None
    _finish(
        db, row.id, status=SENT, sent_at=now, subject=title, last_error=None, next_attempt_at=None
    )
    log.info(
        "digest sent period=%s recipient=%s message_id=%s",
        row.period,
        row.recipient,
        row.message_id,
    )
    return Outcome(row.period, row.recipient, SENT), None


def outbox_rows(db: Database, *, period: str | None = None) -> Sequence[Digest]:
    """The outbox, oldest week first (for `digest status` and tests)."""
    with db.session() as session:
        stmt = select(Digest)
        if period is not None:
            stmt = stmt.where(col(Digest.period) == period)
        return session.exec(stmt.order_by(col(Digest.period), col(Digest.recipient))).all()
