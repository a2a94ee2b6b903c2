"""Realistic synthetic feed files for the ingest benchmarks (deterministic for a seed).

Items read like news summaries: a headline, two to five sentences of HTML with links and
emphasis, a date, a guid. As in a business news feed, about one item in seven names a
catalogue company in passing (detection looks and finds nothing to tie), and one in
twenty names the company together with a pledge's subject and some news language, so
detection also has findings to explain and store.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

COMPANIES = [
    ("Amazon", "facial recognition", "police"),
    ("Microsoft", "carbon negative", "emissions"),
    ("Shell", "carbon intensity", "energy products sold"),
    ("Unilever", "virgin plastic", "packaging"),
    ("McDonald's", "Russia", "restaurants"),
    ("Google", "weapons", "AI principles"),
    ("Nestlé", "child labour", "cocoa"),
    ("Walmart", "racial equity", "center"),
    ("BP", "oil and gas production", "upstream"),
    ("Meta", "face recognition", "Facebook"),
]
CUES = [
    "despite its pledge",
    "quietly dropped",
    "scaled back",
    "a whistleblower alleges",
    "according to internal documents",
    "continued to sell",
    "missed the target",
    "reaffirmed",
    "announced",
]
FILLER = [
    "Analysts said the figures were broadly in line with expectations for the quarter.",
    "The regulator is expected to publish its final decision early next year.",
    "Shares closed slightly higher in afternoon trading on the news.",
    "Officials declined to give a timetable for the next round of talks.",
    "The report draws on interviews with more than forty people familiar with the matter.",
    "Local councils have asked for more money to cover rising energy and staff costs.",
    "The company will publish its annual sustainability report in the spring.",
    "Unions welcomed the agreement but warned that details were still to be settled.",
    "Consumer groups said prices had risen faster than wages for a third year running.",
    "The court adjourned the hearing until next month to allow new evidence to be filed.",
    "Researchers cautioned that the sample was small and the results preliminary.",
    "Several suppliers said they had not been told about the change in advance.",
]
TOPICS = ["Markets", "Energy", "Technology", "Retail", "Policy", "Climate", "Labour", "Courts"]


def _link(rng: random.Random, text: str) -> str:
    return f'<a href="https://news.example.org/{rng.randint(1, 10**6)}">{text}</a>'


def _paragraph(rng: random.Random, lead: str | None) -> str:
    """A summary as news sites publish it: a figure, two or three paragraphs, links."""
    parts = []
    if rng.random() < 0.4:
        n = rng.randint(1, 10**6)
        parts.append(
            f'<figure><img src="https://img.example.org/{n}.jpg" alt="Photo" width="640" '
            f'height="360"><figcaption>{rng.choice(TOPICS)} (file photo)</figcaption></figure>'
        )
    for k in range(rng.randint(2, 3)):
        sentences = rng.sample(FILLER, rng.randint(2, 4))
        if lead and k == 0:
            sentences.insert(0, lead)
        words = " ".join(sentences).split(" ")
        at = rng.randrange(len(words))
        words[at] = _link(rng, words[at])
        parts.append(f"<p>{' '.join(words)}</p>")
    parts.append(f"<p><em>{rng.choice(TOPICS)}</em> | {_link(rng, 'Read more')}</p>")
    return "".join(parts)


def feed_xml(index: int, items: int, seed: int = 7) -> bytes:
    """One RSS 2.0 feed with `items` entries."""
    rng = random.Random(seed * 100_003 + index)
    base = datetime(2025, 3, 1, tzinfo=UTC)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Outlet {index}</title><link>https://outlet{index}.example.org/</link>",
        "<description>Synthetic news for benchmarks</description>",
    ]
    for j in range(items):
        lead = None
        title = f"{rng.choice(TOPICS)}: {rng.choice(FILLER)[:60]}"
        roll = rng.random()
        if roll < 0.05:
            company, subject, scope = rng.choice(COMPANIES)
            cue = rng.choice(CUES)
            title = f"{company} {cue} on {subject}"
            lead = (
                f"{company} {cue}, and its {subject} work for {scope} drew new scrutiny this week."
            )
        elif roll < 0.19:
            company = rng.choice(COMPANIES)[0]
            lead = f"{company} said quarterly sales rose and it would open new offices."
        when = base - timedelta(minutes=rng.randint(0, 500_000))
        link = f"https://outlet{index}.example.org/{when:%Y/%m/%d}/story-{index}-{j}"
        out.append(
            f"<item><title>{escape(title)}</title><link>{link}</link>"
            f"<description>{escape(_paragraph(rng, lead))}</description>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f'<guid isPermaLink="true">{link}</guid></item>'
        )
    out.append("</channel></rss>\n")
    return "".join(out).encode("utf-8")


def write_feeds(folder: Path, files: int, items: int, seed: int = 7) -> list[Path]:
    """Write `files` feed files of `items` entries each; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        path = folder / f"feed-{i:05d}.xml"
        path.write_bytes(feed_xml(i, items, seed))
        paths.append(path)
    return paths
