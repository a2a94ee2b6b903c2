"""`make bench`: run every benchmark module (or those named) and print their ratios.

Each `bench/bench_<name>.py` has `run(quick: bool) -> list[Result]`. Results print as
one line each with the measured figures, the ratio and the target it is checked against.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import Result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for smoke tests")
    args = parser.parse_args()
    here = Path(__file__).parent
    found = pkgutil.iter_modules([str(here)])
    modules = sorted(m.name for m in found if m.name.startswith("bench_"))
    if args.names:
        modules = [m for m in modules if m.removeprefix("bench_") in args.names]
    results: list[Result] = []
    failed = False
    for name in modules:
        mod = importlib.import_module(f"bench.{name}")
        print(f"== {name.removeprefix('bench_')}", flush=True)
        t0 = time.perf_counter()
        try:
            for r in mod.run(quick=args.quick):
                print("  " + r.line(), flush=True)
                results.append(r)
        except Exception as exc:  # one broken bench must not hide the others
            failed = True
            print(f"  ERROR {type(exc).__name__}: {exc}", flush=True)
        print(f"  ({time.perf_counter() - t0:.1f}s)", flush=True)
    print("\n== summary")
    for r in results:
        print("  " + r.line())
    misses = [r for r in results if r.ok is False]
    print(f"{len(results) - len(misses)} of {len(results)} targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
