"""`pledgewatch eval CORPUS_DIR`: measure detection on a labelled corpus."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.app import console, text_or_json
from monitor.evaluation.corpus import CorpusError, report_json, run_eval
from pledges.errors import CatalogueError


@click.command("eval")
@click.argument("corpus", type=click.Path(path_type=Path))
@text_or_json
def evaluate(corpus: Path, fmt: str) -> None:
    """Sync CORPUS's catalogue into a temporary database, ingest its feeds, score the flags."""
    try:
        report = run_eval(corpus)
    except CatalogueError as exc:
        raise click.ClickException(f"corpus catalogue is invalid:\n{exc}") from exc
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(report_json(report))
        return
    out = console()
    o = report.overall
    out.print(f"[bold]{corpus}[/bold]: {report.items} items, {o.tp + o.fn} expected flags")
    out.print(
        f"precision {o.precision:.3f}  recall {o.recall:.3f}  F1 {o.f1:.3f}  "
        f"(tp {o.tp}, fp {o.fp}, fn {o.fn}); kind accuracy {report.kind_accuracy:.3f}"
    )
    out.print("\n[bold]Per pledge[/bold]")
    for pid, c in sorted(report.per_pledge.items()):
        out.print(
            f"  {pid:50s} P {c.precision:.2f}  R {c.recall:.2f}  F1 {c.f1:.2f}  "
            f"(tp {c.tp}, fp {c.fp}, fn {c.fn})",
            markup=False,
        )
    if report.false_positives:
        out.print("\n[bold]False positives[/bold]")
        for fp in report.false_positives:
            out.print(
                f"  {fp['pledge']} {fp['kind']} {fp['score']:.2f}: {fp['title']}", markup=False
            )
            out.print(f"    {fp['link']}", markup=False)
            for s in fp["evidence"][:2]:
                out.print(f"    > {s}", markup=False)
    if report.false_negatives:
        out.print("\n[bold]False negatives[/bold]")
        for fn in report.false_negatives:
            out.print(f"  {fn['pledge']} {fn['kind']}: {fn['link']}", markup=False)
            if fn["label_note"]:
                out.print(f"    label: {fn['label_note']}", markup=False)
    if report.kind_disagreements:
        out.print("\n[bold]Flagged as the other kind[/bold]")
        for kd in report.kind_disagreements:
            out.print(
                f"  {kd['pledge']} {kd['kind']} (labelled {kd['expected_kind']}) "
                f"{kd['score']:.2f}: {kd['title']}",
                markup=False,
            )
            out.print(f"    {kd['link']}", markup=False)
            if kd["label_note"]:
                out.print(f"    label: {kd['label_note']}", markup=False)


COMMANDS = [evaluate]
