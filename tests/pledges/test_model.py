"""The detector's model: fitted deterministically, stored as JSON, never a crash when bad."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import pytest

from pledges.fitted import MAX_MODEL_BYTES, load_model, model_from_text, shipped_model
from pledges.lexicon import DEFAULT_WEIGHTS
from pledges.model import LinearModel, ModelError, fit_logistic
from pledges.score import FEATURES, hand_model


def test_hand_model_scores_as_the_hand_weights_did() -> None:
    model = hand_model(DEFAULT_WEIGHTS, "lexical-5")
    features = {"tie_sentence": 1.0, "breach": 2.0, "commitment_near": 1.0}
    raw = 1.0 + 2 * 0.9 + 0.5 - 2.8
    assert model.raw(features) == pytest.approx(raw)
    assert set(model.weights) <= set(FEATURES)


def test_fit_learns_which_feature_separates_the_labels_and_is_reproducible() -> None:
    rows = [{"good": 1.0, "noise": float(i % 2)} for i in range(20)] + [
        {"bad": 1.0, "noise": float(i % 2)} for i in range(20)
    ]
    labels = [1] * 20 + [0] * 20
    weights, bias = fit_logistic(rows, labels, features=["good", "bad", "noise", "unused"])
    assert weights["good"] > 1 and weights["bad"] < -1
    assert abs(weights["noise"]) < 0.1 and weights["unused"] == 0
    assert fit_logistic(rows, labels, features=["good", "bad", "noise", "unused"]) == (
        weights,
        bias,
    )


def test_a_strong_penalty_keeps_weights_at_their_prior() -> None:
    rows = [{"f": 1.0}, {"f": 1.0}, {}]
    weights, _ = fit_logistic(rows, [0, 0, 1], features=["f"], l2=1e6, prior={"f": 2.0})
    assert weights["f"] == pytest.approx(2.0, abs=1e-3)


def test_model_round_trips_through_json() -> None:
    model = LinearModel("fitted-x", {"breach": 0.8}, -2.0, 0.5, {"corpora": ["dev"]})
    assert LinearModel.from_json(model.to_json()) == model


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"bias": 0, "weights": {}}', "field 'version'"),
        ('{"version": "v", "bias": 0, "weights": {"breach": "high"}}', "field 'weights'"),
        ('{"version": "v", "weights": {}}', "field 'bias'"),
        ('{"version": "v", "bias": 0, "weights": {}, "threshold": 2}', "field 'threshold'"),
    ],
)
def test_a_bad_model_says_which_field_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        LinearModel.from_json(text)


def test_the_shipped_model_loads_and_is_fitted() -> None:
    model = shipped_model()
    assert model.version.startswith("fitted-")
    assert "kind" in model.meta and model.meta["corpora"]


def test_a_missing_or_corrupt_model_file_falls_back_to_the_shipped_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert load_model(tmp_path / "absent.json") == shipped_model()
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "v", "bias": "x"', encoding="utf-8")
    assert load_model(bad) == shipped_model()
    assert model_from_text("null", "stored model 3") == shipped_model()
    messages = [r.getMessage() for r in caplog.records]
    assert any("absent.json: cannot read detector model" in m for m in messages)
    assert any("bad.json: detector model unusable" in m for m in messages)
    assert any("stored model 3: detector model unusable" in m for m in messages)


def test_a_model_file_too_large_or_not_text_falls_back_to_the_shipped_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(MAX_MODEL_BYTES + 1)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert load_model(huge) == shipped_model()
    assert load_model(binary) == shipped_model()
    assert load_model(fifo) == shipped_model()  # refused, not waited on
    messages = [r.getMessage() for r in caplog.records]
    assert any("huge.json" in m and "over the 16000000 byte cap" in m for m in messages)
    assert any("binary.json" in m and "unreadable as UTF-8" in m for m in messages)
    assert any("fifo.json" in m and "not a regular file" in m for m in messages)


@pytest.mark.parametrize("prior", [-15.0, -8.0, 10.0])
def test_a_light_penalty_and_a_far_start_still_converge(prior: float) -> None:
    # Plain Newton steps from here overshoot and the weights run off to thousands; the
    # fit must land on the optimum whatever it starts from: near the log-odds of the data
    # (x=1: 30 of 40 positive, x=0: 5 of 35), pulled only slightly by the light penalty.
    rows = [{"a": 1.0}] * 40 + [{"a": 0.0}] * 35
    labels = [1] * 30 + [0] * 10 + [0] * 30 + [1] * 5
    weights, bias = fit_logistic(
        rows, labels, features=["a"], l2=0.01, prior={"a": prior}, prior_bias=6.0
    )
    assert bias == pytest.approx(math.log(5 / 30), abs=0.05)
    assert weights["a"] + bias == pytest.approx(math.log(30 / 10), abs=0.05)
