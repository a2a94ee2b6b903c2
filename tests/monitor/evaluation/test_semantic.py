"""The semantic layer end to end: fitted and validated on corpora, switched on by config."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import col, select

from monitor.cli import cli
from monitor.config import ConfigError, load_settings
from monitor.evaluation.learning import store_model
from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database
from monitor.store.models import Flag, PledgeVector
from pledges.catalogue import load_catalogue
from pledges.encoder import Encoder
from pledges.fitted import load_semantic, shipped_model
from pledges.model import LinearModel
from pledges.semantic import (
    READING_META,
    REPORT_FEATURE,
    SemanticModel,
    pledge_text,
    vector_key,
)
from pledges.store import sync_catalogue

REPO = Path(__file__).resolve().parents[3]
HOLDOUT_2 = REPO / "eval" / "holdout-2"
HOLDOUT_3 = REPO / "eval" / "holdout-3"
AEROSPACE = REPO / "eval" / "aerospace-defence"


def test_fit_semantic_writes_a_model_and_reports_corpora_left_out(
    real_encoder: Encoder, tmp_path: Path
) -> None:
    out = tmp_path / "semantic.json"
    args = ["detector", "fit-semantic", str(HOLDOUT_2), str(HOLDOUT_3), "--output", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "with the semantic layer, left out by corpus" in result.output
    model = SemanticModel.from_json(out.read_text(encoding="utf-8"))
    assert model.encoder == real_encoder.version
    assert model.meta["corpora"] == ["holdout-2", "holdout-3"]
    cv = model.meta["cv"]
    assert set(cv) >= {"lexical", "with_semantic", "added_true", "added_false", "kind_override"}
    # The layer gives lexical flags its kind only when, left out by corpus, that kind agreed
    # with the labels more often than the lexical one (scored with the reading where kept).
    better = cv["relabelled_kind_accuracy"] > cv["kept_kind_accuracy"]
    assert cv["kind_override"] is better
    assert ("semantic_kind" in model.lexical_kind.get("weights", {})) is better
    assert ("kind for lexical flags" in result.output) and (
        ("(lexical flags keep the lexical kind)" in result.output) is not better
    )
    # The reading is weighed by a flag model only when, left out pledge by pledge (its
    # classifier left out by corpus), it raised F1 without lowering kind accuracy; that
    # model serves the shipped flag model only.
    assert "with the layer's reading, leave-one-pledge-out" in result.output
    kept = (
        cv["with_reading"]["f1"] > cv["lexical"]["f1"]
        and cv["with_reading"]["kind_accuracy"] >= cv["lexical"]["kind_accuracy"]
    )
    assert cv["reading_kept"] is kept
    assert bool(model.lexical_flag) is kept
    if kept:
        assert model.lexical_flag["base"] == shipped_model().version
        assert "semantic_report" in model.lexical_flag["weights"]
    # The same corpora make the same model.
    again = tmp_path / "again.json"
    CliRunner().invoke(cli, [*args[:-1], str(again)])
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_eval_with_the_semantic_layer_names_both_models_and_finds_more(
    real_encoder: Encoder,
) -> None:
    def run(*extra: str) -> dict[str, object]:
        result = CliRunner().invoke(cli, ["eval", *extra, str(AEROSPACE), "--format", "json"])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    lexical, layered = run(), run("--semantic")
    assert " with semantic-" in str(layered["model"])
    assert "without its reading" not in str(layered["model"])
    assert int(str(layered["tp"])) > int(str(lexical["tp"]))
    # Beside another flag model the layer's reading does not apply, and the report says so.
    hand = run("--semantic", "--model", "hand")
    assert str(hand["model"]).startswith("lexical-5 with semantic-")
    assert f"(without its reading, fitted beside {shipped_model().version})" in str(hand["model"])


def test_the_config_switch_turns_the_layer_on_for_ingest(
    real_encoder: Encoder, sqlite_db: Database, tmp_path: Path
) -> None:
    config = tmp_path / "pledgewatch.toml"
    config.write_text("[detect]\nsemantic = true\n", encoding="utf-8")
    assert load_settings(config).detect.semantic is True
    with sqlite_db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(AEROSPACE / "catalogue"))
    feeds = sorted(str(p) for p in (AEROSPACE / "feeds").glob("*.xml"))
    ingest_files(db=sqlite_db, paths=feeds, workers=2, semantic=True)
    with sqlite_db.session() as session:
        versions = set(session.exec(select(Flag.detector_version)).all())
        semantic = session.exec(
            select(Flag).where(col(Flag.detector_version).startswith("semantic-"))
        ).all()
    assert any(v.startswith("fitted-") for v in versions)
    assert semantic, "the semantic layer added no flag"
    assert all(f.reasons and f.evidence for f in semantic)


def test_pledge_vectors_are_stored_once_and_reused_by_the_next_compile(
    real_encoder: Encoder, sqlite_db: Database
) -> None:
    from monitor.flags.detection import load_detector

    with sqlite_db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(AEROSPACE / "catalogue"))
    with sqlite_db.session() as session:
        first = load_detector(session, semantic=True)
    with sqlite_db.session() as session:
        stored = session.exec(select(PledgeVector)).all()
    assert len(stored) == first.size == 10
    # A damaged row is embedded again, not trusted.
    with sqlite_db.write() as session:
        row = session.get(PledgeVector, stored[0].key)
        assert row is not None
        row.vector = b"\0" * 7
    with sqlite_db.session() as session:
        again = load_detector(session, semantic=True)
    title, text = "Air taxi will not carry paying passengers at the Games", ""
    assert again.scan(title, text, None) == first.scan(title, text, None)
    with sqlite_db.session() as session:
        repaired = session.get(PledgeVector, stored[0].key)
        assert repaired is not None and len(repaired.vector) == 384 * 4
    # An edited pledge's old vector is dropped when the catalogue next compiles.
    pledges = load_catalogue(AEROSPACE / "catalogue")
    edited = [pledges[0].model_copy(update={"statement": "A new statement."}), *pledges[1:]]
    with sqlite_db.write() as session:
        sync_catalogue(session=session, pledges=edited)
    with sqlite_db.session() as session:
        load_detector(session, semantic=True)
        keys = set(session.exec(select(PledgeVector.key)).all())
    old_key = vector_key(real_encoder.version, pledge_text(pledges[0].title, pledges[0].statement))
    new_key = vector_key(real_encoder.version, pledge_text(pledges[0].title, "A new statement."))
    assert len(keys) == 10
    assert old_key not in keys and new_key in keys


def test_detector_show_says_whether_the_layer_is_on(
    real_encoder: Encoder, sqlite_db: Database
) -> None:
    url = str(sqlite_db.url)
    off = CliRunner().invoke(cli, ["--db", url, "detector", "show"])
    assert "semantic layer: off" in off.output
    on = CliRunner().invoke(
        cli, ["--db", url, "detector", "show"], env={"PLEDGEWATCH_DETECT_SEMANTIC": "1"}
    )
    assert on.exit_code == 0, on.output
    assert "semantic layer: on, semantic-" in on.output
    # The shipped layer reads articles for the shipped flag model's candidates.
    assert f"candidates are scored with the layer's reading: {shipped_model().version}+" in (
        on.output
    )


def test_the_layer_can_be_set_to_read_only_and_then_flags_nothing_of_its_own(
    real_encoder: Encoder, sqlite_db: Database, tmp_path: Path
) -> None:
    config = tmp_path / "pledgewatch.toml"
    config.write_text('[detect]\nsemantic = "reading"\n', encoding="utf-8")
    assert load_settings(config).detect.semantic == "reading"
    config.write_text('[detect]\nsemantic = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match='semantic: must be true, false or "reading"'):
        load_settings(config)
    with sqlite_db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(AEROSPACE / "catalogue"))
    feeds = sorted(str(p) for p in (AEROSPACE / "feeds").glob("*.xml"))
    ingest_files(db=sqlite_db, paths=feeds, workers=2, semantic="reading")
    with sqlite_db.session() as session:
        versions = set(session.exec(select(Flag.detector_version)).all())
        vectors = session.exec(select(PledgeVector)).all()
    # Every flag is the lexical detector's, scored with the layer's reading; no pledge
    # was embedded (only the layer's own flags need pledge vectors).
    assert versions and all(v.startswith("fitted-") and "+semantic-" in v for v in versions)
    assert vectors == []
    url = str(sqlite_db.url)
    show = CliRunner().invoke(
        cli, ["--db", url, "detector", "show"], env={"PLEDGEWATCH_DETECT_SEMANTIC": "reading"}
    )
    assert show.exit_code == 0, show.output
    assert "semantic layer: its reading only, semantic-" in show.output


def test_eval_with_the_layers_reading_only_names_it_and_refuses_cv(
    real_encoder: Encoder,
) -> None:
    result = CliRunner().invoke(cli, ["eval", "--reading", str(AEROSPACE), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert str(json.loads(result.output)["model"]).endswith("'s reading only")
    both = CliRunner().invoke(cli, ["eval", "--reading", "--cv", str(AEROSPACE)])
    assert both.exit_code == 2 and "not with --semantic, nor with --cv" in both.output


def test_a_refit_with_the_layer_on_carries_a_reading_fitted_beside_it(
    real_encoder: Encoder, reviewed_db: Database, tmp_path: Path
) -> None:
    url = str(reviewed_db.url)
    layer = load_semantic()
    assert layer is not None and layer.model.lexical_flag
    out = tmp_path / "model.json"
    args = ["--db", url, "detector", "fit", str(HOLDOUT_2), "--output", str(out)]
    on = {"PLEDGEWATCH_DETECT_SEMANTIC": "reading"}
    result = CliRunner().invoke(cli, args, env=on)
    assert result.exit_code == 0, result.output
    assert f"the layer's reading ({layer.model.version}) refitted beside it" in result.output
    model = LinearModel.from_json(out.read_text(encoding="utf-8"))
    # The shipped reading serves only the shipped flag model; this one carries its own,
    # fitted on the same corpora and reviews, flagging from the cut the layer's was.
    assert layer.model.lexical_flag["base"] != model.version
    reading = layer.model.flag_model(model)
    assert reading is not None and reading.version == f"{model.version}+{layer.model.version}"
    assert REPORT_FEATURE in reading.weights
    assert reading.threshold == layer.model.lexical_flag["threshold"]
    # Another semantic model does not take it for its own.
    assert replace(layer.model, version="semantic-other").flag_model(model) is None
    # Switched to, the database scores with it, and says so.
    with reviewed_db.write() as session:
        store_model(session, model)
    shown = CliRunner().invoke(cli, ["--db", url, "detector", "show"], env=on)
    assert f"candidates are scored with the layer's reading: {reading.version}" in shown.output
    # With the layer off, the same refit carries none, and its name says it is another model.
    off = tmp_path / "off.json"
    plain = CliRunner().invoke(cli, [*args[:-1], str(off)])
    assert plain.exit_code == 0, plain.output
    without = LinearModel.from_json(off.read_text(encoding="utf-8"))
    assert READING_META not in without.meta and without.version != model.version
    assert layer.model.flag_model(without) is None
