"""`pledgewatch digest preview|send|outbox`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from monitor.cli.app import FORMATS, App, echo_wrapped, emit, pass_app
from monitor.config import Subscription
from monitor.digest.content import build_digest
from monitor.digest.data import load_digest_data
from monitor.digest.outbox import outbox_rows, recipients, send_due_digests
from monitor.digest.periods import Period, PeriodError
from monitor.digest.render import render_html, render_text, subject
from monitor.digest.text import base_url_warning
from monitor.store.db import as_utc


@click.group()
def digest() -> None:
    """The weekly digest: preview it, send what is due, inspect the outbox."""


def _week(app: App, value: str | None, option: str = "--week") -> Period:
    if value is None:
        return Period.containing(datetime.now(UTC), app.settings.digest.zone)
    try:
        return Period.parse(value)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc


def _subscription(app: App, email: str | None) -> Subscription | None:
    if email is None:
        return None
    for addr, sub in recipients(app.settings):
        if addr.casefold() == email.strip().casefold():
            return sub
    raise click.BadParameter(
        f"{email} is not a digest recipient (see [digest] to and subscriptions)",
        param_hint="--recipient",
    )


def format_for(out: Path | None) -> str:
    """The format a file's name asks for: HTML for .html/.htm, else text."""
    return "html" if out is not None and out.suffix.lower() in (".html", ".htm") else "text"


@digest.command()
@click.option(
    "--week",
    metavar="YYYY-Www",
    help="ISO week to render (default: this week, in the digest time zone).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the digest to FILE instead of printing it.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "text"]),
    help="html or text (default: from the --out file's extension, .html/.htm for HTML; else text).",
)
@click.option(
    "--recipient",
    metavar="EMAIL",
    help="Apply this recipient's subscription (default: everything).",
)
@pass_app
def preview(
    app: App, week: str | None, out: Path | None, fmt: str | None, recipient: str | None
) -> None:
    """Render a week's digest without sending it."""
    fmt = fmt or format_for(out)
    period = _week(app, week)
    sub = _subscription(app, recipient)
    with app.db.session() as session:
        data = load_digest_data(session, period, zone=app.settings.digest.timezone)
    # Warned once the digest could be built, so a failure stays a one-line error.
    warning = base_url_warning(app.settings.digest.base_url)
    if warning:
        echo_wrapped(f"warning: {warning}", err=True)
    content = build_digest(data, subscription=sub, base_url=app.settings.digest.base_url)
    body = render_html(content) if fmt == "html" else render_text(content)
    if out is None:
        click.echo(body, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    click.echo(f"wrote the {period} digest ({fmt}) to {out}")
    echo_wrapped(f"  subject: {subject(content)}")


@digest.command()
@click.option(
    "--week",
    metavar="YYYY-Www",
    help="Send this week to every recipient now, whatever the send time.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="With --week: try permanently failed recipients again (after a fix).",
)
@pass_app
def send(app: App, week: str | None, retry_failed: bool) -> None:
    """Send every due digest not yet sent (repeating it sends nothing new)."""
    if retry_failed and week is None:
        raise click.UsageError("--retry-failed needs --week")
    period = _week(app, week) if week is not None else None
    if not recipients(app.settings):
        raise click.ClickException(
            "no digest recipients: set PLEDGEWATCH_DIGEST_TO (comma-separated) or "
            "[digest] to / [[digest.subscriptions]] in the config file"
        )
    report = send_due_digests(
        db=app.db, settings=app.settings, week=period, retry_now=True, retry_failed=retry_failed
    )
    for o in report.outcomes:
        line = f"{o.status:8} {o.period} {o.recipient}"
        click.echo(line + (f": {o.error}" if o.error and o.status != "sent" else ""))
    if report.stopped_by is not None:
        pending = "it stays pending (nothing marked sent) and is retried with backoff"
        raise click.ClickException(f"{report.stopped_by}; {pending}")
    if report.failed or report.deferred:
        raise click.ClickException(
            f"{len(report.failed)} failed, {len(report.deferred)} left pending; "
            "see `pledgewatch digest outbox`"
        )
    if not report.outcomes:
        counts: dict[str, int] = {}
        for week_ in report.periods:
            for row in outbox_rows(app.db, period=week_):
                counts[row.status] = counts.get(row.status, 0) + 1
        done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no rows"
        click.echo(f"nothing to send for {', '.join(report.periods)} ({done})")
        if counts.get("failed"):
            click.echo(
                "failed rows are not retried; after a fix: digest send --week W --retry-failed"
            )


@digest.command()
@click.option("--week", metavar="YYYY-Www", help="Only this week.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def outbox(app: App, week: str | None, fmt: str) -> None:
    """List digests written to the outbox: sent, pending (with the next try) or failed."""
    period = str(_week(app, week)) if week is not None else None
    rows = [
        {
            "week": r.period,
            "recipient": r.recipient,
            "status": r.status,
            "attempts": r.attempts,
            "sent_at": as_utc(r.sent_at),
            "next_attempt_at": as_utc(r.next_attempt_at),
            "message_id": r.message_id,
            "last_error": r.last_error or "",
        }
        for r in outbox_rows(app.db, period=period)
    ]
    emit(
        rows,
        ["week", "recipient", "status", "attempts", "sent_at", "next_attempt_at", "last_error"],
        fmt,
        title="Digest outbox",
    )


COMMANDS = [digest]
