"""Other feed parsers' test corpora, read as cases for `feeds.parse.parse`.

The corpora sit beside the repository, in ../shared/feeds-corpora/ (SOURCES.md there
names the projects and commits): gofeed (Go), rss-parser (JavaScript) and Miniflux (Go).
Each case is one input document and, where the project has one, what that project's
suite expects from it, reduced to what pledgewatch stores: the number of entries and
each entry's title, link, date and text.

`differences(case, outcome)` names every way our parse falls short of the expectation
as a short token (`count`, `title[0]`, `link[2]`, `date[0]`, `text[1]`, `error:KIND`),
so a test can compare the set against an allow-list and a report can count matches.
Used by tests/feeds/test_external_corpora.py and scripts/feed_conformance.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feeds.errors import ParseError
from feeds.parse import ParsedFeed, parse

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "feeds-corpora"
CORPUS_NAMES = ("gofeed", "rss-parser", "miniflux")
# After every date in the corpora, so no entry is dropped as being from the future.
NOW = datetime(2027, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    """What another parser's suite expects; a missing field is not compared."""

    count: int | None = None
    titles: dict[int, str] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)
    dates: dict[int, datetime] = field(default_factory=dict)
    # Substrings of an entry's plain text.
    texts: dict[int, str] = field(default_factory=dict)
    feed_title: str | None = None
    feed_link: str | None = None
    # rss-parser read two Latin-1 files as UTF-8: there U+FFFD stands for one letter.
    replacement_is_wildcard: bool = False


@dataclass(frozen=True)
class Case:
    corpus: str
    name: str  # the input's path inside its corpus folder, without the suffix
    path: Path
    expected: Expected | None  # None: only "parses or names an error" is checked

    @property
    def id(self) -> str:
        return f"{self.corpus}/{self.name}"


@dataclass(frozen=True)
class Outcome:
    feed: ParsedFeed | None
    error: str | None  # the ParseError kind


def run(case: Case) -> Outcome:
    """Parse the input's bytes as ingest does (a local file: its path as the URL)."""
    try:
        feed = parse(case.path.read_bytes(), url=str(case.path), now=NOW)
    except ParseError as exc:
        return Outcome(None, exc.kind)
    return Outcome(feed, None)


def _read_json(path: Path) -> Any:
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:  # rss-parser's encoding.json is stored as Latin-1
        return json.loads(raw.decode("latin-1"))


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)


def _gofeed_link(item: dict[str, Any]) -> str | None:
    link = item.get("link")
    if isinstance(link, str) and link:
        return link
    # gofeed's Atom parser lists links; the entry's link is its first alternate one.
    for candidate in item.get("links") or []:
        if isinstance(candidate, dict) and candidate.get("rel", "alternate") == "alternate":
            href = candidate.get("href")
            return href if isinstance(href, str) and href else None
    return None


def _gofeed_expected(data: dict[str, Any]) -> Expected:
    # gofeed's suite compares whole structures and omits empty fields: no list, no items.
    items = data.get("items", data.get("entries")) or []
    titles, links, dates = {}, {}, {}
    for i, item in enumerate(items):
        if item.get("title"):
            titles[i] = item["title"]
        link = _gofeed_link(item)
        if link:
            links[i] = link
        for key in ("publishedParsed", "pubDateParsed", "updatedParsed"):
            dt = _iso(item.get(key))
            if dt is not None:
                dates[i] = dt
                break
    return Expected(
        len(items), titles, links, dates, feed_title=data.get("title") or None,
        feed_link=_gofeed_link(data),
    )  # fmt: skip


def _rss_parser_expected(data: dict[str, Any], name: str) -> Expected:
    items = data["feed"].get("items") or []
    titles, links, dates = {}, {}, {}
    for i, item in enumerate(items):
        if item.get("title"):
            titles[i] = item["title"]
        if item.get("link"):
            links[i] = item["link"]
        dt = _iso(item.get("isoDate"))
        if dt is not None:
            dates[i] = dt
    feed = data["feed"]
    return Expected(
        len(items), titles, links, dates, feed_title=feed.get("title") or None,
        feed_link=feed.get("link") or None,
        replacement_is_wildcard=name in ("test/input/encoding", "test/input/uolNoticias"),
    )  # fmt: skip


def _miniflux_expected(data: dict[str, Any]) -> Expected:
    def indexed(key: str) -> dict[int, str]:
        return {int(k): v for k, v in (data.get(key) or {}).items()}

    return Expected(
        count=data.get("entry_count"), titles=indexed("entry_titles"), texts=indexed("entry_texts")
    )


def _stem(path: Path, root: Path) -> str:
    return str(path.relative_to(root).with_suffix(""))


def load_cases(root: Path = CORPORA) -> list[Case]:
    """Every input of the three corpora, with its expectation where there is one."""
    cases: list[Case] = []
    base = root / "gofeed"
    for path in sorted(base.rglob("*.xml")):
        exp = path.with_suffix(".json")
        expected = _gofeed_expected(_read_json(exp)) if exp.is_file() else None
        cases.append(Case("gofeed", _stem(path, base), path, expected))
    base = root / "rss-parser"
    for path in sorted((base / "test" / "input").iterdir()):
        out = base / "test" / "output" / f"{path.stem}.json"
        name = _stem(path, base)
        expected = _rss_parser_expected(_read_json(out), name) if out.is_file() else None
        cases.append(Case("rss-parser", name, path, expected))
    base = root / "miniflux"
    for path in sorted(base.rglob("*.xml")):
        exp = path.with_name(f"{path.stem}.expected.json")
        expected = _miniflux_expected(_read_json(exp)) if exp.is_file() else None
        cases.append(Case("miniflux", _stem(path, base), path, expected))
    return cases


def _same_text(expected: str, got: str, wildcard: bool) -> bool:
    # Titles are stored as one line: runs of whitespace compare as one space.
    expected, got = " ".join(expected.split()), " ".join(got.split())
    if wildcard and "\ufffd" in expected:
        pattern = ".".join(re.escape(part) for part in expected.split("\ufffd"))
        return re.fullmatch(pattern, got) is not None
    return expected == got


def differences(case: Case, outcome: Outcome) -> dict[str, str]:
    """Each shortfall against the expectation: token -> what was expected and got."""
    exp = case.expected
    if outcome.feed is None:
        return {f"error:{outcome.error}": "refused, nothing read"}
    if exp is None:
        return {}
    feed, entries = outcome.feed, outcome.feed.entries
    out: dict[str, str] = {}
    if exp.feed_title and not _same_text(exp.feed_title, feed.title, exp.replacement_is_wildcard):
        out["feed.title"] = f"expected {exp.feed_title!r}, got {feed.title!r}"
    if exp.feed_link and feed.link != exp.feed_link.strip():
        out["feed.link"] = f"expected {exp.feed_link!r}, got {feed.link!r}"
    if exp.count is not None and exp.count != len(entries):
        out["count"] = f"expected {exp.count} entries, got {len(entries)}"

    def got(i: int) -> Any:
        return entries[i] if i < len(entries) else None

    for i, title in exp.titles.items():
        e = got(i)
        if e is None or not _same_text(title, e.title, exp.replacement_is_wildcard):
            out[f"title[{i}]"] = f"expected {title!r}, got {e.title if e else None!r}"
    for i, link in exp.links.items():
        e = got(i)
        if e is None or e.link != link.strip():
            out[f"link[{i}]"] = f"expected {link!r}, got {e.link if e else None!r}"
    for i, date in exp.dates.items():
        e = got(i)
        if e is None or e.published != date:
            out[f"date[{i}]"] = f"expected {date.isoformat()}, got {e.published if e else None}"
    for i, text in exp.texts.items():
        e = got(i)
        if e is None or text not in e.text:
            out[f"text[{i}]"] = f"expected {text!r} in {e.text[:200] if e else None!r}"
    return out


@dataclass
class Figures:
    """Per-corpus conformance: how much of what the other suites expect we match."""

    inputs: int = 0
    parsed: int = 0
    degraded: int = 0  # read, but as ill-formed XML (the lenient parser)
    errors: Counter[str] = field(default_factory=Counter)
    counts: list[int] = field(default_factory=lambda: [0, 0])  # matched, compared
    items: list[int] = field(default_factory=lambda: [0, 0])  # entries got, expected
    titles: list[int] = field(default_factory=lambda: [0, 0])
    links: list[int] = field(default_factory=lambda: [0, 0])
    dates: list[int] = field(default_factory=lambda: [0, 0])
    texts: list[int] = field(default_factory=lambda: [0, 0])
    feed_titles: list[int] = field(default_factory=lambda: [0, 0])
    feed_links: list[int] = field(default_factory=lambda: [0, 0])

    def add(self, case: Case, outcome: Outcome) -> None:
        self.inputs += 1
        if outcome.error is not None:
            self.errors[outcome.error] += 1
        else:
            self.parsed += 1
            self.degraded += outcome.feed is not None and outcome.feed.degraded_reason is not None
        exp = case.expected
        if exp is None:
            return
        diffs = differences(case, outcome)
        n = len(outcome.feed.entries) if outcome.feed else 0
        if exp.count is not None:
            self.counts[1] += 1
            self.counts[0] += outcome.feed is not None and "count" not in diffs
            self.items[0] += min(n, exp.count)
            self.items[1] += exp.count
        for name, expected in (
            ("title", exp.titles),
            ("link", exp.links),
            ("date", exp.dates),
            ("text", exp.texts),
        ):
            tally: list[int] = getattr(self, f"{name}s")
            tally[1] += len(expected)
            tally[0] += sum(f"{name}[{i}]" not in diffs for i in expected) if outcome.feed else 0
        for name, value in (("title", exp.feed_title), ("link", exp.feed_link)):
            if value:
                tally = getattr(self, f"feed_{name}s")
                tally[1] += 1
                tally[0] += outcome.feed is not None and f"feed.{name}" not in diffs


def figures(cases: Iterable[Case]) -> dict[str, Figures]:
    result = {name: Figures() for name in CORPUS_NAMES}
    for case in cases:
        result[case.corpus].add(case, run(case))
    return result


def _ratio(pair: list[int]) -> str:
    matched, total = pair
    return f"{matched}/{total}" + (f" ({100 * matched / total:.0f} %)" if total else "")


def report(result: dict[str, Figures]) -> str:
    """The figures as a few lines per corpus."""
    lines = []
    for name, f in result.items():
        errors = ", ".join(f"{k} {v}" for k, v in sorted(f.errors.items())) or "none"
        lines += [
            f"{name}: {f.inputs} inputs, {f.parsed} parsed ({f.degraded} as ill-formed),"
            f" refused: {errors}",
            f"  entry counts matched  {_ratio(f.counts)} documents"
            f"  (entries read {_ratio(f.items)})",
            f"  titles matched        {_ratio(f.titles)}",
            f"  links matched         {_ratio(f.links)}",
            f"  dates matched         {_ratio(f.dates)}",
            f"  feed titles matched   {_ratio(f.feed_titles)}",
            f"  feed links matched    {_ratio(f.feed_links)}",
        ]
        if f.texts[1]:
            lines.append(f"  texts matched         {_ratio(f.texts)}")
    return "\n".join(lines)
