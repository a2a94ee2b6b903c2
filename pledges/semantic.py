"""The optional semantic layer: flags for reports worded unlike the pledge (pure numpy).

The lexical detector needs the pledge's company and subject words; reports that
paraphrase ("the Swedish carmaker rows back on its EV-only promise") slip past it. Here
every pledge (title and statement) and each article (headline and opening) are embedded
by `pledges.encoder`, and a pledge the lexical detector did not tie at all is flagged when

1. the article is closer to it than to any other pledge of the catalogue,
2. their cosine similarity is at least `min_similarity`, and
3. a logistic model on the article's vector reads it as a breach or rollback report
   with probability at least `min_report`.

A second logistic model on the same vector tells rollback from breach. Both are fitted
by `fit` on labelled corpora (`pledgewatch detector fit-semantic`) and shipped in
`pledges/fitted/semantic.json`. The rule and its thresholds were chosen on 24 corpora and
then tested once on six corpora written blind (see docs/detection-semantic.md).

The same two readings also serve the lexical detector's own candidates when the layer is
on (its *reading*): how strongly the article reads as a
report (`REPORT_FEATURE`) is one more feature of a flag model fitted with it
(`lexical_flag`), and its rollback-or-breach logit one more kind feature (`lexical_kind`).
Whether an article reports anything at all is where the lexical detector loses most.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pledges.model import LinearModel, ModelError, is_number, json_object, kind_from, sigmoid

if TYPE_CHECKING:
    from pledges.encoder import Encoder

DIM = 384
# The kind feature the article's rollback-or-breach logit gives a lexical candidate.
KIND_FEATURE = "semantic_kind"
# The flag feature the article's report logit gives a lexical candidate, clipped to
# +-REPORT_CLIP so that one confident reading cannot outweigh every word of the tie.
REPORT_FEATURE = "semantic_report"
REPORT_CLIP = 4.0


def report_feature(logit: float) -> float:
    """The `REPORT_FEATURE` value of an article's report logit, as fitted and as scored."""
    return max(-REPORT_CLIP, min(REPORT_CLIP, logit))


# Characters of the article body embedded after the headline: the encoder reads at most
# 128 tokens, so more text would only cost tokenising time.
ARTICLE_CHARS = 1_200


def article_text(title: str, text: str) -> str:
    return f"{title}. {text[:ARTICLE_CHARS]}".strip() if title else text[:ARTICLE_CHARS]


def pledge_text(title: str, statement: str) -> str:
    return f"{title}. {statement[:ARTICLE_CHARS]}"


@dataclass(frozen=True)
class SemanticModel:
    """The two fitted classifiers (weights then bias) and the rule's thresholds."""

    version: str
    encoder: str
    report: tuple[float, ...]
    kind: tuple[float, ...]
    min_similarity: float = 0.6
    min_report: float = 0.5
    meta: Mapping[str, Any] = field(default_factory=dict)
    # The lexical detector's kind model refitted with the article's rollback-or-breach
    # logit as one more feature (`KIND_FEATURE`): used for lexical flags when the layer
    # is on. {"bias": float, "weights": {feature: weight}}, or empty.
    lexical_kind: Mapping[str, Any] = field(default_factory=dict)
    # The lexical detector's flag model refitted with the article's report logit as one
    # more feature (`REPORT_FEATURE`), for the flag model named `base` only (its words
    # readings are what the weights were fitted beside): {"base": version, "bias": float,
    # "threshold": float, "weights": {feature: weight}}, or empty.
    lexical_flag: Mapping[str, Any] = field(default_factory=dict)

    def flag_model(self, base: LinearModel) -> LinearModel | None:
        """`base` as it scores with the article's report logit, or None when neither
        this model was fitted beside `base` nor `base` carries a reading fitted with this
        model (`READING_META`, written by `detector fit` with the layer on). A score a
        user set flags to start from (`[detect] min_score`, which replaced the base's own
        cut) holds here too."""
        flag: Mapping[str, Any] | None = reading_of(base, self.version)
        if flag is None:
            if not self.lexical_flag or self.lexical_flag.get("base") != base.version:
                return None
            flag = self.lexical_flag
        threshold = float(flag["threshold"])
        if base.threshold != base.meta.get("cut", base.threshold):
            threshold = base.threshold
        return LinearModel(
            f"{base.version}+{self.version}",
            dict(flag["weights"]),
            float(flag["bias"]),
            threshold,
            base.meta,
        )

    def kind_of(self, features: Mapping[str, float], logit: float) -> str | None:
        """The kind of a lexical candidate from its kind features and the article's logit,
        or None when this model has no lexical kind model."""
        if not self.lexical_kind or not features:
            return None
        return kind_from(self.lexical_kind, {**features, KIND_FEATURE: logit})

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "encoder": self.encoder,
                "min_similarity": self.min_similarity,
                "min_report": self.min_report,
                "report": [round(v, 6) for v in self.report],
                "kind": [round(v, 6) for v in self.kind],
                "lexical_kind": dict(self.lexical_kind),
                "lexical_flag": dict(self.lexical_flag),
                "meta": dict(self.meta),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> SemanticModel:
        data = json_object(text)
        for name in ("version", "encoder"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ModelError(f"field '{name}': missing or not a string")
        vectors = {}
        for name in ("report", "kind"):
            v = data.get(name)
            if not isinstance(v, list) or len(v) != DIM + 1 or not all(is_number(x) for x in v):
                raise ModelError(f"field '{name}': must be {DIM + 1} numbers (weights, then bias)")
            vectors[name] = tuple(float(x) for x in v)
        limits = {}
        for name, default in (("min_similarity", 0.6), ("min_report", 0.5)):
            v = data.get(name, default)
            if not is_number(v) or not 0.0 < float(v) < 1.0:
                raise ModelError(f"field '{name}': must be a number between 0 and 1")
            limits[name] = float(v)
        lexical_kind = data.get("lexical_kind", {})
        if lexical_kind:
            weights = lexical_kind.get("weights") if isinstance(lexical_kind, dict) else None
            if (
                not isinstance(weights, dict)
                or not all(isinstance(k, str) and is_number(v) for k, v in weights.items())
                or not is_number(lexical_kind.get("bias"))
            ):
                raise ModelError("field 'lexical_kind': must hold a number 'bias' and 'weights'")
            lexical_kind = {"bias": float(lexical_kind["bias"]), "weights": dict(weights)}
        lexical_flag = _lexical_flag(data.get("lexical_flag", {}))
        meta = data.get("meta", {})
        return cls(
            data["version"],
            data["encoder"],
            vectors["report"],
            vectors["kind"],
            limits["min_similarity"],
            limits["min_report"],
            meta if isinstance(meta, dict) else {},
            lexical_kind or {},
            lexical_flag,
        )


def _lexical_flag(value: object) -> dict[str, Any]:
    """A model file's `lexical_flag`, checked; empty when it has none."""
    if not value:
        return {}
    weights = value.get("weights") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("base"), str)
        or not isinstance(weights, dict)
        or not all(isinstance(k, str) and is_number(v) for k, v in weights.items())
        or not is_number(value.get("bias"))
        or not is_number(value.get("threshold"))
        or not 0.0 < float(value["threshold"]) < 1.0
    ):
        raise ModelError(
            "field 'lexical_flag': must hold a string 'base', a number 'bias', "
            "a 'threshold' between 0 and 1 and 'weights'"
        )
    return {
        "base": value["base"],
        "bias": float(value["bias"]),
        "threshold": float(value["threshold"]),
        "weights": {k: float(v) for k, v in weights.items()},
    }


# The key of a flag model's meta under which it carries its own reading: the flag model
# refitted beside it with the report logit of the semantic model named there.
READING_META = "reading"


def reading_of(base: LinearModel, semantic_version: str) -> dict[str, Any] | None:
    """The reading `base` carries for the semantic model `semantic_version`, or None (none,
    another model's, or damaged: a model that cannot be read scores without it)."""
    value = base.meta.get(READING_META)
    if not isinstance(value, dict) or value.get("semantic") != semantic_version:
        return None
    try:
        return _lexical_flag({**value, "base": base.version})
    except ModelError:
        return None


def vector_key(encoder_version: str, text: str) -> str:
    """What a stored pledge vector is kept under: the encoder and the text, hashed."""
    return hashlib.sha256(f"{encoder_version}\0{text}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Semantic:
    """The layer ready to use: an encoder, the model fitted with it, and pledge vectors
    already known (`vector_key` -> vector), which need not be embedded again.

    With `flags` off the layer only reads: it embeds an article only when one of the
    lexical detector's candidates could reach the cut with its reading, and no pledge at
    all, and it flags nothing of its own (reports no name or word of a pledge tied)."""

    encoder: Encoder
    model: SemanticModel
    known: Mapping[str, Any] = field(default_factory=dict)
    flags: bool = True

    def vectors(self, texts: Sequence[str]) -> Any:
        """An (n, 384) array for `texts`: known vectors reused, the rest embedded."""
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        missing = []
        for i, text in enumerate(texts):
            v = self.known.get(vector_key(self.encoder.version, text))
            if v is not None and getattr(v, "shape", None) == (DIM,):
                out[i] = v
            else:
                missing.append(i)
        if missing:
            out[missing] = self.encoder.encode([texts[i] for i in missing])
        return out


@dataclass(frozen=True)
class SemanticMatch:
    """The pledge an article reads like, and how strongly it reads as a report against it."""

    pledge: int
    similarity: float
    report: float
    kind: str  # breach | rollback


class SemanticIndex:
    """Pledge vectors of one catalogue and a model: `match` is pure and thread-safe."""

    def __init__(self, model: SemanticModel, pledge_vectors: Any) -> None:
        import numpy as np

        self.model = model
        self._vectors = np.asarray(pledge_vectors, dtype=np.float32).reshape(-1, DIM)
        self._report = np.asarray(model.report[:DIM], dtype=np.float32)
        self._kind = np.asarray(model.kind[:DIM], dtype=np.float32)

    @property
    def size(self) -> int:
        return int(self._vectors.shape[0])

    def kind_logit(self, article_vector: Any) -> float:
        """How strongly the article reads as a rollback rather than a breach."""
        return float(self._kind @ article_vector) + self.model.kind[DIM]

    def report_logit(self, article_vector: Any) -> float:
        """How strongly the article reads as a report of a breach or rollback at all."""
        return float(self._report @ article_vector) + self.model.report[DIM]

    def match(self, article_vector: Any) -> SemanticMatch | None:
        """The nearest pledge when it passes both thresholds, else None."""
        if self.size == 0:
            return None
        sims = self._vectors @ article_vector
        best = int(sims.argmax())
        similarity = float(sims[best])
        if similarity < self.model.min_similarity:
            return None
        report = sigmoid(self.report_logit(article_vector))
        if report < self.model.min_report:
            return None
        rollback = self.kind_logit(article_vector) > 0
        return SemanticMatch(best, similarity, report, "rollback" if rollback else "breach")


def fit_ridge_logistic(x: Any, y: Sequence[float], l2: float, iterations: int = 30) -> list[float]:
    """L2-penalised logistic regression by Newton's method: weights, then an unpenalised
    bias. Deterministic."""
    import numpy as np

    xs = np.hstack([np.asarray(x, dtype=np.float64), np.ones((len(y), 1))])
    ys = np.asarray(y, dtype=np.float64)
    beta = np.zeros(xs.shape[1])
    penalty = np.full(xs.shape[1], l2)
    penalty[-1] = 1e-6
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xs @ beta)))
        grad = xs.T @ (p - ys) + penalty * beta
        hess = (xs * (p * (1.0 - p))[:, None]).T @ xs + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    return [float(b) for b in beta]


__all__ = [
    "KIND_FEATURE",
    "READING_META",
    "REPORT_CLIP",
    "REPORT_FEATURE",
    "report_feature",
    "Semantic",
    "SemanticIndex",
    "SemanticMatch",
    "SemanticModel",
    "article_text",
    "fit_ridge_logistic",
    "pledge_text",
    "reading_of",
    "vector_key",
]
