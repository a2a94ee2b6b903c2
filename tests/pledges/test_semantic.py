"""The semantic layer: how strongly an article reads as a report, weighed with the
lexical candidates, and reports worded unlike the pledge, flagged only by a clear rule."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pledges.detect import Detector
from pledges.encoder import MAX_TOKENS, Encoder
from pledges.fitted import load_semantic, shipped_model
from pledges.model import LinearModel, ModelError
from pledges.models import PledgeIn
from pledges.semantic import (
    DIM,
    KIND_FEATURE,
    REPORT_FEATURE,
    Semantic,
    SemanticIndex,
    SemanticModel,
    article_text,
    fit_ridge_logistic,
    pledge_text,
)
from tests.pledges.test_detect import EV, pledge


def model(report_bias: float = 5.0, kind_bias: float = -5.0, **over: float) -> SemanticModel:
    """A model whose classifiers answer by their bias alone: every article reads as a
    report (or none), of one kind, so only the similarity rule is left to test."""
    zeros = (0.0,) * DIM
    return SemanticModel("semantic-test", "enc", (*zeros, report_bias), (*zeros, kind_bias), **over)


def unit(i: int) -> list[float]:
    v = [0.0] * DIM
    v[i] = 1.0
    return v


def test_the_nearest_pledge_is_matched_when_close_enough_and_read_as_a_report() -> None:
    index = SemanticIndex(model(), [unit(0), unit(1)])
    near_second = [0.0] * DIM
    near_second[0], near_second[1] = 0.3, 0.95
    match = index.match(_array(near_second))
    assert match is not None and match.pledge == 1 and match.kind == "breach"
    assert match.similarity == pytest.approx(0.95)
    # Not close enough to any pledge; or close, but not read as a report.
    assert index.match(_array([0.5] + [0.0] * (DIM - 1))) is None
    assert SemanticIndex(model(report_bias=-5.0), [unit(0)]).match(_array(unit(0))) is None
    rollback = SemanticIndex(model(kind_bias=5.0), [unit(0)]).match(_array(unit(0)))
    assert rollback is not None and rollback.kind == "rollback"
    assert SemanticIndex(model(), []).match(_array(unit(0))) is None


def _array(v: list[float]):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.asarray(v, dtype=np.float32)


def test_the_model_file_round_trips_and_says_which_field_is_wrong() -> None:
    m = model(min_similarity=0.55)
    assert SemanticModel.from_json(m.to_json()) == m
    with_kind = replace(m, lexical_kind={"bias": 0.5, "weights": {KIND_FEATURE: 1.0}})
    assert SemanticModel.from_json(with_kind.to_json()) == with_kind
    flag = {"base": "fitted-x", "bias": -1.0, "threshold": 0.45, "weights": {REPORT_FEATURE: 0.5}}
    with_flag = replace(m, lexical_flag=flag)
    assert SemanticModel.from_json(with_flag.to_json()) == with_flag
    good = json.loads(m.to_json())
    for field, value, message in (
        ("report", [0.0] * 3, "field 'report': must be 385 numbers"),
        ("kind", [0.0] * DIM + ["x"], "field 'kind': must be 385 numbers"),
        ("min_similarity", 1.5, "field 'min_similarity': must be a number between 0 and 1"),
        ("version", "", "field 'version': missing"),
        ("lexical_kind", {"weights": {"x": "y"}}, "field 'lexical_kind': must hold"),
        ("lexical_flag", {**flag, "threshold": 1.5}, "field 'lexical_flag': must hold"),
        ("lexical_flag", {**flag, "base": None}, "field 'lexical_flag': must hold"),
        ("lexical_flag", [1, 2], "field 'lexical_flag': must hold"),
    ):
        with pytest.raises(ModelError, match=message):
            SemanticModel.from_json(json.dumps({**good, field: value}))
    with pytest.raises(ModelError, match="not JSON"):
        SemanticModel.from_json("{")


def test_the_classifier_fit_separates_labelled_vectors_reproducibly() -> None:
    xs = [unit(0)] * 10 + [unit(1)] * 10
    ys = [1.0] * 10 + [0.0] * 10
    beta = fit_ridge_logistic(xs, ys, l2=1.0)
    assert len(beta) == DIM + 1
    assert beta[0] > 1 > -1 > beta[1]
    assert fit_ridge_logistic(xs, ys, l2=1.0) == beta


CAGE_FREE = pledge(
    id="freshmart-cage-free-eggs-2025",
    company={"name": "FreshMart"},
    title="Only cage-free eggs by 2025",
    kind="target",
    statement="FreshMart promised to sell only cage-free eggs in all its stores by 2025.",
    made_on="2016-04-01",
    subject=["cage-free eggs"],
    scope=[],
    history=[],
)
# Names neither the company nor any subject phrase: the lexical detector cannot tie it.
PARAPHRASE = (
    "Supermarket chain drops its promise on eggs from hens kept out of cages",
    "Campaigners say the grocer abandoned the pledge it made to shoppers in 2016.",
)


def semantic_detector(encoder: Encoder, pledges: list[PledgeIn], **over: float) -> Detector:
    return Detector.compile(pledges, semantic=Semantic(encoder, model(**over)))


def test_a_report_worded_unlike_the_pledge_is_flagged_and_explained(
    real_encoder: Encoder,
) -> None:
    lexical = Detector.compile([EV, CAGE_FREE])
    assert lexical.scan(*PARAPHRASE, date(2024, 9, 1)) == []
    detector = semantic_detector(real_encoder, [EV, CAGE_FREE], min_similarity=0.5)
    [finding] = detector.scan(*PARAPHRASE, date(2024, 9, 1))
    assert finding.pledge_id == CAGE_FREE.id
    assert finding.kind == "breach"
    assert finding.detector_version == "semantic-test"
    assert any("no name or word of the pledge matched" in r for r in finding.reasons)
    assert any("closest of 2 pledges" in r for r in finding.reasons)
    assert finding.evidence[0].sentence == PARAPHRASE[0] and finding.evidence[0].in_title
    assert finding.evidence[1].sentence == PARAPHRASE[1]


def test_a_score_floor_above_the_models_holds_for_the_layers_flags(
    real_encoder: Encoder,
) -> None:
    detector = semantic_detector(real_encoder, [EV, CAGE_FREE], min_similarity=0.5)
    [finding] = detector.scan(*PARAPHRASE, date(2024, 9, 1))
    strict = detector.with_model(replace(detector.model, threshold=finding.score + 0.001))
    assert strict.scan(*PARAPHRASE, date(2024, 9, 1)) == []


def test_the_layer_adds_nothing_to_a_pledge_the_lexical_detector_tied(
    real_encoder: Encoder,
) -> None:
    text = ("FreshMart scraps its cage-free eggs pledge", "FreshMart dropped its 2025 goal.")
    lexical = Detector.compile([CAGE_FREE]).scan(*text, date(2024, 9, 1))
    layered = semantic_detector(real_encoder, [CAGE_FREE], min_similarity=0.1)
    assert [f.pledge_id for f in lexical] == [CAGE_FREE.id]
    assert layered.scan(*text, date(2024, 9, 1)) == lexical


def test_a_report_dated_before_the_pledge_or_unlike_any_pledge_is_not_flagged(
    real_encoder: Encoder,
) -> None:
    detector = semantic_detector(real_encoder, [EV, CAGE_FREE], min_similarity=0.5)
    assert detector.scan(*PARAPHRASE, date(2015, 1, 1)) == []
    assert detector.scan("Heavy rain expected this weekend", "Floods likely.", None) == []


def test_the_shipped_semantic_model_loads_with_its_cross_validated_figures(
    real_encoder: Encoder,
) -> None:
    layer = load_semantic()
    assert layer is not None
    assert layer.model.version.startswith("semantic-")
    assert layer.model.encoder == real_encoder.version
    assert layer.model.meta["cv"]["with_semantic"]["f1"] > 0


def test_a_bad_semantic_model_turns_the_layer_off_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    bad = tmp_path / "semantic.json"
    bad.write_text('{"version": "x"', encoding="utf-8")
    assert load_semantic(bad) is None
    assert load_semantic(tmp_path / "absent.json") is None
    other = json.loads(model().to_json())
    bad.write_text(json.dumps({**other, "encoder": "another-encoder"}), encoding="utf-8")
    assert load_semantic(bad) is None
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "semantic model unusable" in messages
    assert "detecting without the semantic layer" in messages


def test_a_huge_statement_or_article_is_read_only_as_far_as_the_encoder_reads(
    real_encoder: Encoder,
) -> None:
    huge = pledge(
        id="wordy-pledge",
        company={"name": "WordyCo"},
        title="A",
        kind="policy",
        statement="word " * 5_000,
        made_on="2020-01-01",
        subject=["word"],
        scope=[],
        history=[],
    )
    body = "sentence after sentence. " * 40_000
    texts = [pledge_text(huge.title, huge.statement), article_text("Long read", body)]
    assert all(len(t) <= 1_300 for t in texts)
    assert all(len(ids) <= MAX_TOKENS for ids in real_encoder.tokens(texts))
    detector = semantic_detector(real_encoder, [huge, CAGE_FREE])
    assert detector.scan("Long read", body, None) == []


def test_with_the_layer_a_lexical_flags_kind_also_weighs_how_the_article_reads(
    real_encoder: Encoder,
) -> None:
    text = ("FreshMart scraps its cage-free eggs pledge", "FreshMart dropped its 2025 goal.")
    lexical = Detector.compile([CAGE_FREE]).scan(*text, date(2024, 9, 1))
    assert [f.kind for f in lexical] == ["rollback"]

    def kinds(kind_bias: float) -> list[str]:
        m = replace(
            model(kind_bias=kind_bias),
            lexical_kind={"bias": 0.0, "weights": {KIND_FEATURE: 1.0}},
        )
        detector = Detector.compile([CAGE_FREE], semantic=Semantic(real_encoder, m))
        return [f.kind for f in detector.scan(*text, date(2024, 9, 1))]

    # An article the layer reads as a breach outweighs the (zero-weighted) kind features.
    assert kinds(-5.0) == ["breach"]
    assert kinds(5.0) == ["rollback"]
    # A model without a lexical kind model leaves the lexical kind alone.
    plain = Detector.compile([CAGE_FREE], semantic=Semantic(real_encoder, model(kind_bias=-5.0)))
    assert [f.kind for f in plain.scan(*text, date(2024, 9, 1))] == ["rollback"]


def reading(base: LinearModel, report_bias: float, weight: float = 2.0) -> SemanticModel:
    """A model that reads every article as a report (positive bias) or as coverage, with
    a flag model for `base` that weighs that reading by `weight` beside its own weights."""
    flag = {
        "base": base.version,
        "bias": base.bias,
        "threshold": base.threshold,
        "weights": {**base.weights, REPORT_FEATURE: weight},
    }
    return replace(model(report_bias=report_bias), lexical_flag=flag)


# Ties CAGE_FREE with a weak signal: the shipped model alone does not flag it.
WEAK = (
    "FreshMart faces questions over cage-free eggs",
    "Shoppers asked FreshMart whether its cage-free eggs goal for 2025 is on course.",
)


def test_with_the_layer_candidates_are_scored_with_how_strongly_the_article_reads_as_a_report(
    real_encoder: Encoder,
) -> None:
    base = shipped_model()
    assert Detector.compile([CAGE_FREE]).scan(*WEAK, date(2024, 9, 1)) == []

    def scan(report_bias: float) -> list[str]:
        layer = Semantic(real_encoder, reading(base, report_bias))
        detector = Detector.compile([CAGE_FREE], semantic=layer)
        return [f.pledge_id for f in detector.scan(*WEAK, date(2024, 9, 1))]

    # Read as a report, the tie is flagged; read as coverage, it is not.
    assert scan(5.0) == [CAGE_FREE.id]
    assert scan(-5.0) == []


def test_a_flag_scored_with_the_reading_names_it_and_both_models(
    real_encoder: Encoder,
) -> None:
    base = shipped_model()
    semantic = reading(base, 5.0)
    detector = Detector.compile([CAGE_FREE], semantic=Semantic(real_encoder, semantic))
    [finding] = detector.scan(*WEAK, date(2024, 9, 1))
    assert finding.detector_version == detector.version == f"{base.version}+semantic-test"
    assert any(
        "the semantic layer (semantic-test) reads it as a report of a breach or rollback" in r
        and "probability of a report 0.99" in r
        for r in finding.reasons
    )


def test_the_reading_serves_only_the_flag_model_it_was_fitted_beside() -> None:
    base = shipped_model()
    semantic = reading(base, 5.0)
    with_reading = semantic.flag_model(base)
    assert with_reading is not None and with_reading.weights[REPORT_FEATURE] == 2.0
    # Another flag model (a refit with reviews, the hand weights) scores as it is.
    assert semantic.flag_model(replace(base, version="fitted-other")) is None
    assert model().flag_model(base) is None
    # A floor a user set above the model's cut holds with the reading too.
    floor = semantic.flag_model(replace(base, threshold=0.8))
    assert floor is not None and floor.threshold == 0.8


class CountingEncoder(Encoder):
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> Any:
        self.texts += texts
        return super().encode(texts)


def test_a_layer_that_only_reads_scores_the_candidates_and_flags_nothing_of_its_own(
    real_encoder: Encoder,
) -> None:
    base = shipped_model()
    encoder = CountingEncoder()
    layer = Semantic(encoder, replace(reading(base, 5.0), min_similarity=0.1), flags=False)
    detector = Detector.compile([EV, CAGE_FREE], semantic=layer)
    # No pledge is embedded: only the layer's own flags need them.
    assert encoder.texts == []
    # A candidate the reading could flag is read and flagged, as with the whole layer ...
    [finding] = detector.scan(*WEAK, date(2024, 9, 1))
    assert finding.pledge_id == CAGE_FREE.id
    assert finding.detector_version == f"{base.version}+semantic-test"
    assert encoder.texts == [article_text(*WEAK)]
    # ... but a report no name or word ties is not flagged, and not even embedded.
    assert detector.scan(*PARAPHRASE, date(2024, 9, 1)) == []
    assert encoder.texts == [article_text(*WEAK)]
    whole = Detector.compile([EV, CAGE_FREE], semantic=replace(layer, flags=True))
    assert [f.pledge_id for f in whole.scan(*PARAPHRASE, date(2024, 9, 1))] == [CAGE_FREE.id]
    # Nor is an article whose candidates could not reach the cut even read as a report.
    faint = CountingEncoder()
    weak_reading = Semantic(faint, reading(base, 5.0, weight=0.01), flags=False)
    assert Detector.compile([CAGE_FREE], semantic=weak_reading).scan(*WEAK, date(2024, 9, 1)) == []
    assert faint.texts == []
