"""Score detection by hand weights on labelled corpora for several values of one weight.

    .venv/bin/python scripts/weight_sweep.py bias 2.6 2.8 3.0 \\
        ../shared/eval/dev eval/holdout eval/holdout-2 eval/holdout-3

The hand weights (pledges/lexicon.py `Weights`) are where the fitted model starts;
`pledgewatch eval --cv` measures the fitted model on pledges it never saw.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from feeds.parse import parse
from monitor.evaluation.corpus import Predicted, score
from pledges.catalogue import load_catalogue
from pledges.detect import Detector
from pledges.lexicon import DEFAULT_WEIGHTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weight", help="a field of pledges.lexicon.Weights")
    parser.add_argument("values", nargs="+", help="values, then corpus folders")
    args = parser.parse_args()
    values = [v for v in args.values if not Path(v).is_dir()]
    corpora = [Path(v) for v in args.values if Path(v).is_dir()]
    loaded = []
    for corpus in corpora:
        labels = json.loads((corpus / "labels.json").read_text())["items"]
        entries = [
            e for f in sorted((corpus / "feeds").glob("*")) for e in parse(f.read_bytes()).entries
        ]
        loaded.append((corpus.name, labels, load_catalogue(corpus / "catalogue"), entries))
    kind = type(getattr(DEFAULT_WEIGHTS, args.weight))
    for value in values:
        weights = dataclasses.replace(DEFAULT_WEIGHTS, **{args.weight: kind(value)})
        cells = []
        for name, labels, catalogue, entries in loaded:
            detector = Detector.compile(catalogue, weights)
            flags = [
                Predicted(e.link or "", f.pledge_id, f.kind)
                for e in entries
                for f in detector.scan(e.title, e.text, e.published)
            ]
            o = score(labels, flags).overall
            cells.append(f"{name} P{o.precision:.2f} R{o.recall:.2f} F1 {o.f1:.3f}")
        print(f"{args.weight}={value}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
