"""The optional semantic layer's cost, beside the lexical scan it is added to.

- per article: scanning with the layer on costs at most 50 ms more per item than the
  lexical scan alone (one encoder call per article);
- per pledge: compiling a catalogue with the layer on costs at most 50 ms per pledge
  (every pledge is embedded once per compile);
- its reading only (`[detect] semantic = "reading"`): at most a quarter of the whole
  layer's extra time per article, since it embeds only the articles with a candidate its
  reading could flag (and no pledge).

Skipped (no result) where the semantic extra is not installed.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.catalogue_gen import catalogue
from bench.common import Result
from bench.feedgen import write_feeds
from feeds.parse import parse
from pledges.detect import Detector
from pledges.fitted import load_semantic


def run(quick: bool = False) -> list[Result]:
    layer = load_semantic()
    if layer is None:
        print("  semantic layer not installed: nothing measured")
        return []
    items, pledges = (100, 100) if quick else (500, 300)
    with tempfile.TemporaryDirectory(prefix="pledgewatch-bench-semantic-") as tmp:
        files = write_feeds(Path(tmp) / "feeds", max(items // 50, 1), 50)
        entries = [e for p in files for e in parse(p.read_bytes()).entries][:items]
    specs = catalogue(pledges)
    lexical = Detector.compile(specs)
    t0 = time.perf_counter()
    layered = Detector.compile(specs, semantic=layer)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    for e in entries:
        lexical.scan(e.title, e.text, e.published)
    t_lexical = time.perf_counter() - t0
    t0 = time.perf_counter()
    added = sum(len(layered.scan(e.title, e.text, e.published)) for e in entries)
    t_layered = time.perf_counter() - t0
    reader = Detector.compile(specs, semantic=replace(layer, flags=False))
    t0 = time.perf_counter()
    read = sum(len(reader.scan(e.title, e.text, e.published)) for e in entries)
    t_reading = time.perf_counter() - t0
    n = len(entries)
    extra = max(t_layered - t_lexical, 1e-9)
    return [
        Result(
            f"semantic layer: extra scan time per article ({n} items, {pledges} pledges)",
            (t_layered - t_lexical) / n * 1000,
            50,
            unit=" ms",
            detail=f"lexical {t_lexical / n * 1000:.2f} ms/item, with the layer "
            f"{t_layered / n * 1000:.1f} ms/item, {added} findings",
        ),
        Result(
            "semantic layer: compile time per pledge",
            t_compile / pledges * 1000,
            50,
            unit=" ms",
            detail=f"{pledges} pledges in {t_compile:.1f}s",
        ),
        Result(
            "semantic layer, its reading only: extra scan time against the whole layer's",
            (t_reading - t_lexical) / extra,
            0.25,
            detail=f"{(t_reading - t_lexical) / n * 1000:.2f} ms/item more than lexical "
            f"against {extra / n * 1000:.1f}, {read} findings",
        ),
    ]
