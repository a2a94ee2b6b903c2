"""How the detector turns a candidate's features into a score: a logistic model (pure).

A candidate (an article tied to a pledge with some breach or rollback signal) is
described by named features (`pledges.score.FEATURES`); the score is
`sigmoid(bias + sum(weight * value))` and a flag is raised at or above `threshold`.
The weights are either the hand-set ones of `pledges.lexicon.Weights` or fitted by
`fit_logistic` on labelled candidates; both are the same `LinearModel`, stored as JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class ModelError(ValueError):
    """A model file that cannot be used (not JSON, missing or mistyped fields)."""


@dataclass(frozen=True)
class LinearModel:
    """Weights over named features; features the model does not know weigh nothing."""

    version: str
    weights: Mapping[str, float]
    bias: float
    threshold: float = 0.5
    # How it was made and measured (corpora, rows, cross-validated figures): shown, not used.
    meta: Mapping[str, Any] = field(default_factory=dict)

    def raw(self, features: Mapping[str, float]) -> float:
        w = self.weights
        return self.bias + sum(w.get(k, 0.0) * v for k, v in features.items())

    def score(self, features: Mapping[str, float]) -> float:
        return sigmoid(self.raw(features))

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "bias": self.bias,
                "threshold": self.threshold,
                "weights": dict(sorted(self.weights.items())),
                "meta": dict(self.meta),
            },
            indent=2,
            sort_keys=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LinearModel:
        data = json_object(text)
        version = data.get("version")
        if not isinstance(version, str) or not version:
            raise ModelError("field 'version': missing or not a string")
        weights = data.get("weights")
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and is_number(v) for k, v in weights.items()
        ):
            raise ModelError("field 'weights': must map feature names to numbers")
        for name in ("bias", "threshold"):
            if not is_number(data.get(name, 0.5)):
                raise ModelError(f"field '{name}': not a number")
        threshold = float(data.get("threshold", 0.5))
        if not 0.0 < threshold < 1.0:
            raise ModelError("field 'threshold': must be between 0 and 1")
        if "bias" not in data:
            raise ModelError("field 'bias': missing")
        meta = data.get("meta", {})
        return cls(
            version,
            {k: float(v) for k, v in weights.items()},
            float(data["bias"]),
            threshold,
            meta if isinstance(meta, dict) else {},
        )


def json_object(text: str) -> dict[str, Any]:
    """A model file's text as a JSON object, or a ModelError saying why it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError("not a JSON object")
    return data


def is_number(v: object) -> bool:
    """A finite int or float (not a bool): what a model file may hold as a number."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def kind_from(kind_model: Mapping[str, Any], features: Mapping[str, float]) -> str:
    """Rollback or breach by a kind model ({"bias": ..., "weights": {...}}) over a
    candidate's kind features."""
    w = kind_model.get("weights", {})
    raw = float(kind_model.get("bias", 0.0)) + sum(
        float(w.get(k, 0.0)) * v for k, v in features.items()
    )
    return "rollback" if raw > 0 else "breach"


def fit_logistic(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[int],
    *,
    features: Sequence[str],
    l2: float = 1.0,
    prior: Mapping[str, float] | None = None,
    prior_bias: float = 0.0,
    iterations: int = 50,
) -> tuple[dict[str, float], float]:
    """L2-regularised logistic regression by Newton's method: (weights, bias).

    The penalty pulls each weight towards `prior` (zero by default): with a few hundred
    labelled rows, starting from the hand weights and moving only as far as the data
    asks generalises better than learning every weight from nothing. Deterministic (no
    random start, no sampling), and small enough for pure Python: a few dozen features
    and a few thousand rows. The bias is not penalised. A feature that is zero in every
    row keeps its prior weight.
    """
    prior = prior or {}
    names = [f for f in features if any(r.get(f, 0.0) for r in rows)]
    n = len(names) + 1  # last column is the bias
    xs = [[float(r.get(f, 0.0)) for f in names] + [1.0] for r in rows]
    ys = [float(y) for y in labels]
    centre = [float(prior.get(f, 0.0)) for f in names]
    beta = [*centre, prior_bias]
    for _ in range(iterations):
        grad = [0.0] * n
        hess = [[0.0] * n for _ in range(n)]
        before = _penalty(beta, centre, l2)
        for x, y in zip(xs, ys, strict=True):
            z = sum(b * v for b, v in zip(beta, x, strict=True))
            before += _softplus(z) - y * z
            p = sigmoid(z)
            d = p - y
            s = p * (1.0 - p)
            nz = [(i, v) for i, v in enumerate(x) if v]
            for i, v in nz:
                grad[i] += d * v
                row = hess[i]
                for j, u in nz:
                    row[j] += s * v * u
        for i in range(n - 1):
            grad[i] += l2 * (beta[i] - centre[i])
            hess[i][i] += l2
        hess[n - 1][n - 1] += 1e-6  # keeps the system solvable with one class only
        step = _solve(hess, grad)
        # A full Newton step can overshoot and diverge when the penalty is light (the
        # weights then grow without bound); halving it until the penalised loss does not
        # rise keeps every fit converging to the one optimum, and changes nothing when
        # the full step already descends.
        t = 1.0
        for _ in range(40):
            trial = [b - t * s for b, s in zip(beta, step, strict=True)]
            # (a rounding's worth of rise is no rise)
            if _loss(xs, ys, trial, centre, l2) <= before + 1e-12 * abs(before):
                break
            t /= 2
        else:
            break  # no descent along the step: at the optimum to within rounding
        beta = trial
        if max(abs(t * s) for s in step) < 1e-8:
            break
    weights = {f: float(prior.get(f, 0.0)) for f in features}
    weights.update({f: round(b, 6) for f, b in zip(names, beta, strict=False)})
    return weights, round(beta[-1], 6)


def _softplus(z: float) -> float:
    """log(1 + e^z), without overflow for large |z|."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _penalty(beta: list[float], centre: list[float], l2: float) -> float:
    # zip stops at the last weight: the bias (last in beta) is not penalised.
    return 0.5 * l2 * sum((b - c) ** 2 for b, c in zip(beta, centre, strict=False))


def _loss(
    xs: Sequence[list[float]],
    ys: Sequence[float],
    beta: list[float],
    centre: list[float],
    l2: float,
) -> float:
    """The penalised negative log-likelihood `fit_logistic` minimises."""
    total = _penalty(beta, centre, l2)
    for x, y in zip(xs, ys, strict=True):
        z = sum(b * v for b, v in zip(beta, x, strict=True))
        total += _softplus(z) - y * z
    return total


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a x = b (a symmetric positive definite) by Gaussian elimination."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        p = m[col][col]
        if abs(p) < 1e-12:
            continue
        for r in range(col + 1, n):
            f = m[r][col] / p
            if f:
                mr, mc = m[r], m[col]
                for c in range(col, n + 1):
                    mr[c] -= f * mc[c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        p = m[r][r]
        if abs(p) < 1e-12:
            continue
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / p
    return x


__all__ = [
    "LinearModel",
    "ModelError",
    "fit_logistic",
    "is_number",
    "json_object",
    "kind_from",
    "sigmoid",
]
