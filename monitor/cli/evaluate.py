"""`pledgewatch eval CORPUS_DIR...`: measure detection on labelled corpora.

With `--cv`, every pledge of every corpus is scored by a model fitted without it
(leave-one-pledge-out): the figure a user adding pledges of their own can expect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from localfiles import LocalFileError, read_local_text
from monitor.cli.app import console, jobs_option, text_or_json
from monitor.evaluation.corpus import CorpusError, EvalReport, report_json, run_eval
from monitor.evaluation.learning import (
    HAND,
    apply,
    best_cut,
    by_min_score,
    cut_flags,
    figures,
    load_corpora,
    lopo_scores,
    with_model_readings,
    with_word_readings,
)
from monitor.evaluation.semantic import cross_validate_semantic, embed_corpora
from pledges.encoder import INSTALL_HINT
from pledges.errors import CatalogueError
from pledges.fitted import MAX_MODEL_BYTES, load_semantic, shipped_model
from pledges.model import LinearModel, ModelError
from pledges.semantic import Semantic

EVAL_EXAMPLES = """\b
Each corpus is a folder with catalogue/, feeds/ and labels.json.
Examples:
  pledgewatch eval eval/holdout-3
  pledgewatch eval --model hand eval/holdout-3
  pledgewatch eval --cv eval/holdout eval/holdout-2 eval/finance
  pledgewatch eval --semantic eval/holdout-3
  pledgewatch eval --reading eval/holdout-3"""


@click.command("eval", epilog=EVAL_EXAMPLES)
@click.argument("corpora", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--cv",
    is_flag=True,
    help="Leave-one-pledge-out cross-validation over all CORPORA together: each pledge "
    "scored by a model fitted without it.",
)
@click.option(
    "--model",
    "model_name",
    default="shipped",
    show_default=True,
    metavar="shipped|hand|FILE",
    help="The model that scores: the shipped fitted one, the hand weights "
    f"({HAND.version}), or a model file written by `detector fit --output`.",
)
@click.option(
    "--semantic",
    is_flag=True,
    help="Add the semantic layer (needs the semantic extra): its reading of each article "
    "for the candidates, and its own flags. With --cv, the layer is fitted without each "
    "corpus in turn.",
)
@click.option(
    "--reading",
    is_flag=True,
    help="Add only the semantic layer's reading of the articles whose candidates it could "
    'flag, as `[detect] semantic = "reading"` does: no flags of its own. Not with --cv '
    "(--cv --semantic prints the reading's own figures).",
)
@jobs_option
@text_or_json
def evaluate(
    corpora: tuple[Path, ...],
    cv: bool,
    model_name: str,
    semantic: bool,
    reading: bool,
    jobs: int | None,
    fmt: str,
) -> None:
    """Sync each corpus's catalogue into a temporary database, ingest its feeds, score flags."""
    if reading and (cv or semantic):
        raise click.UsageError(
            "--reading scores with the layer's reading only: not with --semantic, nor with "
            "--cv (--cv --semantic prints the reading's own figures)"
        )
    try:
        layer = _semantic() if semantic or reading else None
        if cv:
            _cross_validate(corpora, fmt, layer, jobs)
            return
        model = _model(model_name)
        reports = [
            (corpus, run_eval(corpus, model, layer.model if layer else None, reading))
            for corpus in corpora
        ]
    except CatalogueError as exc:
        raise click.ClickException(f"corpus catalogue is invalid:\n{exc}") from exc
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        if len(reports) == 1:
            click.echo(report_json(reports[0][1]))
        else:
            click.echo(json.dumps({str(c): r.as_dict() for c, r in reports}, indent=2))
        return
    for corpus, report in reports:
        _print(corpus, report)


def _model(name: str) -> LinearModel | None:
    if name == "shipped":
        return None
    if name == "hand":
        return HAND
    try:
        return LinearModel.from_json(read_local_text(Path(name), max_bytes=MAX_MODEL_BYTES))
    except LocalFileError as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from exc
    except ModelError as exc:
        raise click.BadParameter(f"{name}: {exc}", param_hint="--model") from exc


def _semantic() -> Semantic:
    layer = load_semantic()
    if layer is None:
        raise click.ClickException(
            "the semantic layer cannot run here (the warning above says why); "
            f"to use it, {INSTALL_HINT}"
        )
    return layer


def _cross_validate(
    corpora: tuple[Path, ...], fmt: str, layer: Semantic | None, jobs: int | None
) -> None:
    loaded = load_corpora(corpora)
    data = with_word_readings(loaded, jobs)
    shipped = shipped_model()
    # key -> (label, figures); keys are stable for JSON readers, labels name the models.
    named = {
        "hand_in_sample": (f"hand weights ({HAND.version}), in-sample", apply(HAND, data)),
        "shipped_in_sample": (
            f"shipped model ({shipped.version}), in-sample",
            apply(shipped, with_model_readings(shipped, loaded)),
        ),
    }
    scored = lopo_scores(data, jobs=jobs)
    lexical = cut_flags(data, scored)
    named["leave_one_pledge_out"] = (
        "leave-one-pledge-out (cut left out too)",
        figures(data, lexical),
    )
    cut = best_cut(data, scored)
    trade = by_min_score(data, scored)
    if layer is not None:
        cv = cross_validate_semantic(
            data, embed_corpora(layer.encoder, corpora), lexical, jobs=jobs
        )
        named["with_reading"] = (
            "leave-one-pledge-out with the layer's reading"
            + ("" if cv.reading_kept else " (not kept)"),
            cv.reading,
        )
        named["with_semantic"] = (
            f"leave-one-pledge-out + semantic layer left out by corpus "
            f"({cv.added_true} right, {cv.added_false} wrong added)",
            cv.combined,
        )
    if fmt == "json":
        out_json: dict[str, Any] = {
            k: {"label": label, **fig.as_dict()} for k, (label, fig) in named.items()
        }
        out_json["cut"] = cut
        out_json["leave_one_pledge_out_by_min_score"] = {
            f"{m:g}": {k: v for k, v in fig.as_dict().items() if k != "per_source"}
            for m, fig in trade.items()
        }
        click.echo(json.dumps(out_json, indent=2))
        return
    out = console()
    pledges = len({r.pledge_id for r in data.rows} | {k[2] for k in data.expected})
    out.print(
        f"[bold]{len(data.sources)} corpora[/bold], {pledges} pledges, "
        f"{len(data.expected)} expected flags, {len(data.rows)} candidates"
    )
    for label, fig in named.values():
        out.print(f"{label:45s} {fig.summary()}", markup=False)
    out.print(
        "\n[bold]Leave-one-pledge-out by the score flags start from[/bold] "
        f"(\\[detect] min_score; a model fitted on these corpora flags from {cut:g}, "
        f"the shipped one from {shipped.threshold:g})"
    )
    for m, fig in trade.items():
        out.print(f"  from {m:<5g} {fig.summary()}", markup=False)
    out.print("\n[bold]Leave-one-pledge-out per corpus[/bold]")
    for source, c in sorted(named["leave_one_pledge_out"][1].per_source.items()):
        out.print(
            f"  {source:30s} P {c.precision:.3f}  R {c.recall:.3f}  F1 {c.f1:.3f}  "
            f"(tp {c.tp}, fp {c.fp}, fn {c.fn})",
            markup=False,
        )


def _print(corpus: Path, report: EvalReport) -> None:
    out = console()
    o = report.overall
    out.print(
        f"[bold]{corpus}[/bold]: {report.items} items, {o.tp + o.fn} expected flags, "
        f"scored by {report.model}"
    )
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
