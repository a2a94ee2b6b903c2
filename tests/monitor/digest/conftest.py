"""Headless Chromium for the digest's layout tests, and the checks they share.

Uses Debian's chromium (/usr/bin/chromium, installed by .ci/run) through playwright's
`executable_path`; no browser is downloaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Elements whose box reaches past the right edge of the viewport (half a pixel of slack for
# sub-pixel rounding), and the page's scroll width.
WIDER_THAN_VIEWPORT = """() => {
  const limit = window.innerWidth + 0.5;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > limit || r.width > limit)) {
      wide.push(`${el.tagName.toLowerCase()}.${el.className}: ${Math.round(r.width)} px`);
    }
  }
  return {wide, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth};
}"""

# Words inside links that the layout split over two lines ("reac hed"): a word whose
# characters lie on more than one line box. Words longer than the link's line could ever
# hold (a bare URL) must break and are left out.
WORDS_BROKEN_IN_LINKS = """() => {
  const broken = [];
  for (const a of document.querySelectorAll('a')) {
    const box = a.parentElement.getBoundingClientRect().width;
    const walker = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = [...range.getClientRects()].filter(r => r.width > 0);
        const width = rects.reduce((w, r) => w + r.width, 0);
        const lines = new Set(rects.map(r => Math.round(r.top)));
        if (lines.size > 1 && width < box) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield b
        finally:
            b.close()
