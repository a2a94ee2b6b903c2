"""The semantic layer's encoder: the published model's vectors, refused when not it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pledges.encoder import VERSION, Encoder, EncoderUnavailable, weights_dir


@pytest.fixture
def encoder(real_encoder: Encoder) -> Encoder:
    return real_encoder


def test_vectors_match_the_published_models(encoder: Encoder) -> None:
    # The first dimensions sentence-transformers gives for these two sentences.
    reference = [
        [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
        [0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747],
    ]
    vectors = encoder.encode(["This is an example sentence", "Each sentence is converted."])
    assert vectors.shape == (2, 384)
    for got, want in zip(vectors[:, :6].tolist(), reference, strict=True):
        assert got == pytest.approx(want, abs=1e-5)


def test_vectors_are_unit_length_and_the_same_alone_or_in_a_batch(encoder: Encoder) -> None:
    texts = ["Amazon extends its police moratorium", "", "Café déjà vu", "word " * 400]
    batch = encoder.encode(texts)
    for i, text in enumerate(texts):
        alone = encoder.encode([text])[0]
        assert float(abs(alone - batch[i]).max()) < 1e-5
        assert float((batch[i] ** 2).sum()) == pytest.approx(1.0, abs=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(encoder: Encoder) -> None:
    pledge, paraphrase, other = encoder.encode(
        [
            "The retailer promised to sell only cage-free eggs by 2025.",
            "Supermarket abandons its pledge on eggs from caged hens.",
            "Heavy rain is expected across the north this weekend.",
        ]
    )
    assert float(pledge @ paraphrase) > float(pledge @ other) + 0.3


def test_weights_that_are_not_the_published_ones_are_refused(
    encoder: Encoder, tmp_path: Path
) -> None:
    shutil.copy(weights_dir() / "tokenizer.json", tmp_path / "tokenizer.json")
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 64)
    with pytest.raises(EncoderUnavailable, match="not the all-MiniLM-L6-v2 weights"):
        Encoder(tmp_path)


def test_a_folder_without_the_files_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(EncoderUnavailable, match="model.safetensors: missing"):
        Encoder(tmp_path)


def test_the_version_names_the_weights() -> None:
    assert VERSION.startswith("all-MiniLM-L6-v2@")
