"""`pledgewatch detector`: which model scores flags, and refitting it from labelled data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import App, jobs_option, pass_app
from monitor.evaluation.corpus import CorpusError
from monitor.evaluation.learning import (
    CUT_TOLERANCE,
    NAMES_MIN_CORPORA,
    LabelledSet,
    ReviewedFlag,
    best_cut,
    common_names_fit,
    cut_flags,
    dropped,
    figures,
    fit_model,
    kind_words_fit,
    load_corpora,
    lopo_scores,
    model_version,
    report_words_fit,
    review_rows,
    reviewed_flags,
    store_model,
    with_word_readings,
)
from monitor.evaluation.semantic import (
    cross_validate_semantic,
    embed_corpora,
    fit_lexical_flag,
    fit_semantic,
    refit_reading,
    semantic_model_from,
)
from monitor.flags.detection import active_model, load_detector
from pledges.encoder import Encoder, EncoderUnavailable
from pledges.errors import CatalogueError
from pledges.fitted import load_semantic, shipped_model
from pledges.semantic import READING_META, REPORT_FEATURE, article_text


@click.group("detector")
def detector() -> None:
    """The model that scores candidate flags: show it, refit it."""


@detector.command("show")
@pass_app
def show(app: App) -> None:
    """Print the model this database scores with and how it was made."""
    with app.db.session() as session:
        model = active_model(session)
    click.echo(f"model {model.version} (bias {model.bias:+.3f}, threshold {model.threshold})")
    meta = model.meta
    if meta.get("corpora"):
        click.echo(f"fitted on {', '.join(meta['corpora'])} and {meta.get('reviews', 0)} reviews")
    for name, weight in sorted(model.weights.items(), key=lambda kv: -abs(kv[1])):
        click.echo(f"  {name:26s} {weight:+.3f}")
    for key, what in (("report_words", "flag model"), ("kind_words", "kind model")):
        words = meta.get(key)
        if isinstance(words, dict) and isinstance(words.get("weights"), dict):
            click.echo(f"{what} reads the article's words: {len(words['weights'])} terms learned")
    if not app.settings.detect.semantic:
        click.echo("semantic layer: off ([detect] semantic = false)")
        return
    layer = load_semantic()
    if layer is None:
        click.echo("semantic layer: on in the settings, but it cannot run here (see the warning)")
        return
    only_reading = app.settings.detect.semantic == "reading"
    cv = layer.model.meta.get("cv", {}).get("with_reading" if only_reading else "with_semantic", {})
    rule = (
        "no flags of its own"
        if only_reading
        else f"similarity >= {layer.model.min_similarity}, report >= {layer.model.min_report}"
    )
    click.echo(
        f"semantic layer: {'its reading only' if only_reading else 'on'}, {layer.model.version} "
        f"with encoder {layer.encoder.version} ({rule}"
        + (f"; left-out F1 with it {cv['f1']:.3f}" if "f1" in cv else "")
        + ")"
    )
    reading = layer.model.flag_model(model)
    if reading is not None:
        click.echo(
            f"candidates are scored with the layer's reading: {reading.version}, weight "
            f"{reading.weights.get(REPORT_FEATURE, 0.0):+.3f}, flags from {reading.threshold:g}"
        )
    elif layer.model.lexical_flag:
        click.echo(
            f"candidates are scored without the layer's reading: it was fitted beside "
            f"{layer.model.lexical_flag['base']}, not {model.version} (`detector fit` with "
            "the layer on refits one beside it)"
        )


@detector.command("fit")
@click.argument("corpora", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-reviews", is_flag=True, help="Learn from the corpora only, not the review log.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the fitted model to FILE instead of switching the database to it.",
)
@jobs_option
@pass_app
def fit(
    app: App, corpora: tuple[Path, ...], no_reviews: bool, output: Path | None, jobs: int | None
) -> None:
    """Refit the model on labelled CORPORA plus confirmed (positive) and dismissed
    (negative) flags, print leave-one-pledge-out figures before and after, and switch the
    database to the new model only if they do not drop. `rescan` then applies it.
    """
    try:
        data = load_corpora(corpora)
    except CatalogueError as exc:
        raise click.ClickException(f"corpus catalogue is invalid:\n{exc}") from exc
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    reviews = LabelledSet()
    reviewed: list[ReviewedFlag] = []
    if not no_reviews:
        with app.db.session() as session:
            reviewed = reviewed_flags(session)
            if reviewed:
                reviews = review_rows(load_detector(session), reviewed)
    data.extend(reviews)
    data = with_word_readings(data, jobs)
    if not data.rows:
        raise click.ClickException("nothing to learn from: give labelled corpora or review flags")
    current = None if output else _current(app)
    corpora_only = lopo_scores(data, train=lambda r: r.source != "reviews", jobs=jobs)
    # Without reviews both recipes train on the same rows: one run gives both figures.
    scored = lopo_scores(data, jobs=jobs) if reviews.rows else corpora_only
    before = figures(data, cut_flags(data, corpora_only))
    after = figures(data, cut_flags(data, scored)) if reviews.rows else before
    cut = best_cut(data, scored)
    dismissed = sum(1 for r in reviews.rows if not r.label)
    click.echo(
        f"labelled: {len(corpora)} corpora, {len(reviews.expected)} confirmed and "
        f"{dismissed} dismissed flags; {len(data.rows)} candidates"
    )
    click.echo(f"leave-one-pledge-out, corpora only:        {before.summary()}")
    if reviews.rows:
        click.echo(f"leave-one-pledge-out, corpora and reviews: {after.summary()}")
    else:
        click.echo("leave-one-pledge-out, corpora and reviews: the same (no reviews to add)")
    click.echo(
        f"flags start from {cut:g}: nearest 0.5 of the scores whose leave-one-pledge-out "
        f"F1 is within {CUT_TOLERANCE:g} of the best"
    )
    meta = {
        "made_by": "pledgewatch detector fit",
        "corpora": [p.resolve().name for p in corpora],
        "reviews": len(reviews.rows),
        "cv": after.as_dict(),
        "cut": cut,
    }
    if app.settings.detect.semantic:
        reading = _reading(corpora, data, reviewed)
        if reading is not None:
            meta[READING_META] = reading
    model = fit_model(
        data.rows,
        "pending",
        meta,
        kind_words=kind_words_fit(data),
        report_words=report_words_fit(data),
        threshold=cut,
    )
    model = replace(model, version=model_version(model))
    if output is not None:
        output.write_text(model.to_json() + "\n", encoding="utf-8")
        click.echo(f"wrote {model.version} to {output}")
        return
    if dropped(before, after):
        click.echo(
            f"kept {current}: with the reviews cross-validated F1 would drop "
            f"({before.counts.f1:.3f} -> {after.counts.f1:.3f})"
        )
        return
    with app.db.write() as session:
        store_model(session, model)
    click.echo(f"switched from {current} to {model.version}; run `pledgewatch rescan` to apply it")


@detector.command("fit-semantic")
@click.argument(
    "corpora", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the fitted semantic model to FILE (the shipped one is "
    "pledges/fitted/semantic.json).",
)
@jobs_option
def fit_semantic_command(corpora: tuple[Path, ...], output: Path, jobs: int | None) -> None:
    """Fit the semantic layer's classifiers on labelled CORPORA, and the flag model that
    weighs its reading of an article beside the shipped one's features; print how each
    does on what it was fitted without, next to the lexical detector alone."""
    try:
        encoder = Encoder()
    except EncoderUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        rows = with_word_readings(load_corpora(corpora), jobs)
        data = embed_corpora(encoder, corpora)
    except CatalogueError as exc:
        raise click.ClickException(f"corpus catalogue is invalid:\n{exc}") from exc
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    cv = cross_validate_semantic(rows, data, jobs=jobs)
    click.echo(f"labelled: {len(corpora)} corpora, {len(data.items)} items")
    click.echo(f"lexical, leave-one-pledge-out:                 {cv.lexical.summary()}")
    click.echo(f"with the layer's reading, leave-one-pledge-out: {cv.reading.summary()}")
    click.echo(f"with the semantic layer, left out by corpus:   {cv.combined.summary()}")
    click.echo(f"the layer added {cv.added_true} right and {cv.added_false} wrong flags")
    click.echo(
        f"the layer's kind for lexical flags, left out by corpus: kind accuracy "
        f"{cv.relabelled.kind_accuracy:.3f} against {cv.kept.kind_accuracy:.3f} "
        + ("with the reading" if cv.reading_kept else "lexical")
        + "; "
        + ("kept" if cv.kind_override else "not kept (lexical flags keep the lexical kind)")
    )
    # The reading scores lexical candidates only where it was measured to help, and only
    # beside the flag model whose words readings the rows were given: the shipped one.
    base = shipped_model()
    flag = None
    if cv.reading_kept:
        flag = fit_lexical_flag(cv.reading_rows, base.version, cv.reading_cut)
        click.echo(
            f"the reading is kept: with {base.version} it flags from {cv.reading_cut:g} "
            f"(weight {flag['weights'][REPORT_FEATURE]:+.3f})"
        )
        if sorted(p.resolve().name for p in corpora) != sorted(base.meta.get("corpora", [])):
            click.echo(
                f"note: {base.version} was fitted on other corpora; refit it on these "
                "first, or the reading's weights sit beside words readings they were not "
                "fitted with"
            )
    else:
        click.echo("the reading is not kept (left-out F1 or kind accuracy would not rise)")
    # The layer gives lexical flags its kind only where that was measured to help.
    fitted = fit_semantic(
        data, cv.penalties, rows=rows if cv.kind_override else None, lexical_flag=flag
    )
    model = semantic_model_from(fitted, cv)
    output.write_text(model.to_json() + "\n", encoding="utf-8")
    click.echo(f"wrote {model.version} to {output}")


@detector.command("fit-names")
@click.argument(
    "corpora", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the list to FILE (the shipped one is pledges/fitted/names.json).",
)
def fit_names(corpora: tuple[Path, ...], output: Path) -> None:
    """List the words and names that reports in labelled CORPORA of several fields use:
    a name from a pledge's own text on this list never stands in for its company."""
    try:
        names = common_names_fit(corpora)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    body = {
        "made_by": "pledgewatch detector fit-names",
        "min_corpora": NAMES_MIN_CORPORA,
        "corpora": [p.resolve().name for p in corpora],
        "names": names,
    }
    output.write_text(json.dumps(body, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    click.echo(f"wrote {len(names)} common words and names from {len(corpora)} corpora to {output}")


def _reading(
    corpora: tuple[Path, ...], data: LabelledSet, reviewed: list[ReviewedFlag]
) -> dict[str, Any] | None:
    """With the semantic layer on, the reading the refitted model carries: the shipped
    reading serves only the shipped flag model."""
    layer = load_semantic()
    if layer is None:
        click.echo("the semantic layer cannot run here (see the warning): no reading refitted")
        return None
    if not layer.model.lexical_flag:
        click.echo(f"{layer.model.version} has no reading (it did not earn its place): none")
        return None
    try:
        embedded = embed_corpora(layer.encoder, corpora)
    except (CatalogueError, CorpusError) as exc:
        raise click.ClickException(str(exc)) from exc
    texts = {link: article_text(title, text) for link, title, text, *_ in reviewed}
    reading = refit_reading(data, embedded, texts, layer)
    if reading is not None:
        click.echo(
            f"the layer's reading ({layer.model.version}) refitted beside it: weight "
            f"{reading['weights'].get(REPORT_FEATURE, 0.0):+.3f}, flags from "
            f"{reading['threshold']:g}"
        )
    return reading


def _current(app: App) -> str:
    with app.db.session() as session:
        return active_model(session).version


COMMANDS = [detector]
