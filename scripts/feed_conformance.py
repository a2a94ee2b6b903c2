"""Print how closely feeds.parse reads three other parsers' test corpora.

    python scripts/feed_conformance.py            # figures per corpus
    python scripts/feed_conformance.py --details  # and every difference, case by case

The corpora (gofeed, rss-parser, Miniflux) are read from ../shared/feeds-corpora beside
the repository, or from --corpora DIR. Per corpus: inputs, how many parsed and how many
were refused (by kind), then documents whose entry count matches, and titles, links,
dates, feed titles and feed links matched out of those the other suite expects.
tests/feeds/test_external_corpora.py checks the same comparison against its allow-list.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.feeds.corpora import (  # noqa: E402  (the repository is put on the path first)
    CORPORA,
    CORPUS_NAMES,
    Figures,
    differences,
    load_cases,
    report,
    run,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--details", action="store_true", help="list every difference")
    args = parser.parse_args(argv)
    if not args.corpora.is_dir():
        print(f"no corpora at {args.corpora}", file=sys.stderr)
        return 2
    result = {name: Figures() for name in CORPUS_NAMES}
    for case in load_cases(args.corpora):
        outcome = run(case)
        result[case.corpus].add(case, outcome)
        if args.details:
            for token, detail in sorted(differences(case, outcome).items()):
                print(f"{case.id}  {token}  {detail[:300]}")
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
