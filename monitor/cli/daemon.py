"""`pledgewatch daemon|status|maintain`: run the scheduler, report health, tidy up once."""

from __future__ import annotations

import logging
from typing import Any

import click
from click.core import ParameterSource
from rich.table import Table

from monitor.cli.app import App, console, pass_app, text_or_json, to_json
from monitor.config import Settings, load_settings
from monitor.daemon.instance import DaemonError
from monitor.daemon.jobs import maintain
from monitor.daemon.service import run_daemon
from monitor.daemon.status import Status, collect_status

# `status` exits with this when no daemon is alive, so it can serve as a health check.
EXIT_NO_DAEMON = 3


@click.command()
@click.pass_context
def daemon(ctx: click.Context) -> None:
    """Run the scheduler: poll due feeds, send due digests, maintain the database.

    Runs in the foreground and logs to stderr (INFO unless --log-level says otherwise;
    --log-format json for log aggregation). SIGTERM or SIGINT stops it cleanly within
    10 s; SIGHUP re-reads the config file and recompiles the catalogue from the database.
    """
    root = ctx.find_root()
    app = root.obj
    assert isinstance(app, App)
    if root.get_parameter_source("log_level") == ParameterSource.DEFAULT:
        logging.getLogger().setLevel(logging.INFO)
    if logging.getLogger().level > logging.DEBUG:
        # One line per tick is APScheduler's idea of INFO; ours says what happened.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    config_file = root.params.get("config_file")
    db_url = root.params.get("db_url")

    def reload_settings() -> Settings:
        return load_settings(config_file, database_url=db_url)

    try:
        code = run_daemon(app.settings, reload_settings=reload_settings)
    except DaemonError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.exit(code)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _print_status(report: Status) -> None:
    out = console()
    verdict = "healthy" if report.healthy else "NO DAEMON RUNNING"
    out.print(f"[bold]pledgewatch status[/bold] at {_when(report.now)} UTC: {verdict}")

    if not report.daemons and not report.daemons_hidden:
        # An empty table says nothing to someone who has never started one.
        out.print("Daemons: none has run on this database; start one with `pledgewatch daemon`")
    else:
        table = Table(title="Daemons", header_style="bold")
        for c in ("id", "state", "started", "last seen", "stopped", "why"):
            table.add_column(c, overflow="fold")
        for d in report.daemons:
            table.add_row(
                d["id"], d["state"], _when(d["started_at"]), _when(d["seen_at"]),
                _when(d["stopped_at"]), d.get("reason") or "",
            )  # fmt: skip
        out.print(table)
    if report.daemons_hidden:
        out.print(
            f"({report.daemons_hidden} older stopped or dead daemons not shown; "
            "maintenance deletes them)"
        )

    table = Table(title="Jobs", header_style="bold")
    for c in ("job", "last started", "last finished", "ok", "next run", "last error"):
        table.add_column(c, overflow="fold")
    for j in report.jobs:
        ok = "-" if j["last_ok"] is None else ("yes" if j["last_ok"] else "NO")
        table.add_row(
            j["job"], _when(j["last_started_at"]), _when(j["last_finished_at"]), ok,
            _when(j["next_run_at"]), j["last_error"] or "",
        )  # fmt: skip
    out.print(table)

    out.print(f"Feeds: {report.feeds_total}, failing: {len(report.feeds_failing)}")
    if report.feeds_failing:
        table = Table(title="Failing feeds", header_style="bold")
        for c in ("id", "url", "failing since", "errors", "last error"):
            table.add_column(c, overflow="fold")
        for f in report.feeds_failing:
            table.add_row(
                str(f["id"]), f["url"], _when(f["failing_since"]),
                str(f["consecutive_errors"]) + (" (gone)" if f["gone"] else ""),
                f["last_error"] or f["error_kind"] or "",
            )  # fmt: skip
        out.print(table)

    out.print(f"Flags awaiting review: {report.flags_awaiting_review}")
    out.print(f"Digests not sent yet: {report.digests_unsent}")
    if report.digests:
        table = Table(title="Last digest per recipient", header_style="bold")
        for c in ("recipient", "period", "status", "attempts", "last sent", "last error"):
            table.add_column(c, overflow="fold")
        for d in report.digests:
            last_sent = f"{d['last_sent_period']} at {_when(d['last_sent_at'])}"
            table.add_row(
                d["recipient"], d["period"], d["status"], str(d["attempts"]),
                last_sent if d["last_sent_period"] else "never", d["last_error"] or "",
            )  # fmt: skip
        out.print(table)
    if report.digests_failed:
        shown, total = len(report.digests_failed), report.digests_failed_total
        title = f"Failed digests ({total}, newest {shown} shown)" if total > shown else ""
        table = Table(title=title or f"Failed digests ({total})", header_style="bold")
        for c in ("recipient", "period", "attempts", "why"):
            table.add_column(c, overflow="fold")
        for d in report.digests_failed:
            table.add_row(d["recipient"], d["period"], str(d["attempts"]), d["last_error"] or "")
        out.print(table)
        out.print(
            "Later weeks still go out. After a fix, re-send a week with "
            "`pledgewatch digest send --week YYYY-Www --retry-failed`."
        )


@click.command()
@text_or_json
@click.pass_context
@pass_app
def status(app: App, ctx: click.Context, fmt: str) -> None:
    """Daemons, jobs, failing feeds, flags to review, digests; exit 3 if no daemon is alive.

    A daemon is alive when its heartbeat is fresh (seen within three heartbeat
    intervals), so `pledgewatch status` works as a health check.
    """
    try:
        with app.db.session() as session:
            report = collect_status(session)
    except click.ClickException:
        raise
    except Exception as exc:
        raise click.ClickException(f"cannot read status from {app.db.safe_url}: {exc}") from exc
    if fmt == "json":
        click.echo(to_json(report.to_dict()))
    else:
        _print_status(report)
    if not report.healthy:
        ctx.exit(EXIT_NO_DAEMON)


@click.command("maintain")
@pass_app
def maintain_(app: App) -> None:
    """Run maintenance once: prune old unflagged article text, optimise the database."""
    outcome = maintain(db=app.db, settings=app.settings)
    if not outcome.ok or outcome.result is None:
        raise click.ClickException(f"maintenance failed: {outcome.error}")
    r = outcome.result
    click.echo(
        f"pruned text of {r.pruned_articles} articles, removed {r.removed_heartbeats} old "
        f"heartbeats; database maintenance run: {', '.join(r.actions) or 'none'}"
    )


COMMANDS = [daemon, status, maintain_]
