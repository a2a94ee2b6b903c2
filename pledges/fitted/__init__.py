"""The fitted models shipped with the package, and loading them safely.

`detector.json` is made by `pledgewatch detector fit` from every labelled corpus; a
model that cannot be read never stops detection: the shipped one (or, if that too is
damaged, the hand weights) scores instead, with a warning. `semantic.json` is made by
`pledgewatch detector fit-semantic`; when it or the encoder cannot be loaded, detection
goes on without the semantic layer, with a warning.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from localfiles import LocalFileError, read_local_text
from pledges.kindwords import KindWords
from pledges.lexicon import DEFAULT_WEIGHTS
from pledges.model import LinearModel, ModelError
from pledges.score import hand_model
from pledges.semantic import Semantic, SemanticModel

if TYPE_CHECKING:
    from pledges.encoder import Encoder

log = logging.getLogger(__name__)
SHIPPED = "detector.json"
SHIPPED_SEMANTIC = "semantic.json"
# A model file holds a few dozen weights and the vocabularies of its words readings (1.1 MB
# fitted on 98 corpora, growing with them); the cap keeps a wrong path harmless.
MAX_MODEL_BYTES = 16_000_000


def _hand() -> LinearModel:
    return hand_model(DEFAULT_WEIGHTS, "lexical-5")


@lru_cache(maxsize=1)
def shipped_model() -> LinearModel:
    """The model in the package; the hand weights if it is missing or damaged."""
    try:
        text = resources.files(__name__).joinpath(SHIPPED).read_text(encoding="utf-8")
        return _parsed(text)
    except (OSError, ModelError) as exc:
        log.warning("shipped detector model unusable (%s); scoring with the hand weights", exc)
        return _hand()


def _parsed(text: str) -> LinearModel:
    """A model file's model, its vocabularies for reading an article's words checked too."""
    model = LinearModel.from_json(text)
    for name in ("kind_words", "report_words"):
        if name in model.meta:
            KindWords.from_dict(model.meta[name], name)
    return model


def model_from_text(text: str | None, origin: str) -> LinearModel:
    """A stored model, or the shipped one (with a warning naming `origin`) if it is bad."""
    if text is None:
        return shipped_model()
    try:
        return _parsed(text)
    except ModelError as exc:
        fallback = shipped_model()
        log.warning("%s: detector model unusable (%s); using %s", origin, exc, fallback.version)
        return fallback


def load_model(path: Path) -> LinearModel:
    """A model file, or the shipped model (with a warning) if it is missing or damaged."""
    try:
        text = read_local_text(path, max_bytes=MAX_MODEL_BYTES)
    except LocalFileError as exc:
        fallback = shipped_model()
        log.warning("%s: cannot read detector model (%s); using %s", path, exc, fallback.version)
        return fallback
    return model_from_text(text, str(path))


@lru_cache(maxsize=1)
def _encoder() -> Encoder:
    from pledges.encoder import Encoder

    return Encoder()


def load_semantic(model_path: Path | None = None) -> Semantic | None:
    """The semantic layer (the shipped model, or the one at `model_path`), or None with
    a warning naming what is missing when it cannot run here."""
    from pledges.encoder import EncoderUnavailable

    try:
        if model_path is None:
            text = resources.files(__name__).joinpath(SHIPPED_SEMANTIC).read_text(encoding="utf-8")
            origin = f"shipped {SHIPPED_SEMANTIC}"
        else:
            text = read_local_text(model_path, max_bytes=MAX_MODEL_BYTES)
            origin = str(model_path)
        model = SemanticModel.from_json(text)
    except (OSError, LocalFileError, ModelError) as exc:
        log.warning("semantic model unusable (%s); detecting without the semantic layer", exc)
        return None
    try:
        encoder = _encoder()
    except EncoderUnavailable as exc:
        log.warning("semantic layer off: %s", exc)
        return None
    if model.encoder != encoder.version:
        log.warning(
            "%s was fitted with encoder %s, not %s; detecting without the semantic layer",
            origin,
            model.encoder,
            encoder.version,
        )
        return None
    return Semantic(encoder, model)
