"""Incidents: flags on one pledge about one story, across outlets, grouped together."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import col, select

from feeds.models import Article
from feeds.parse import Entry, parse
from monitor.cli import cli
from monitor.flags.incidents import (
    THRESHOLD,
    WINDOW,
    Story,
    group_flag_rows,
    group_stories,
    similarity,
    story_words,
)
from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database
from monitor.store.models import Flag, Incident
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.conftest import DEV_CORPUS, REPO

EXAMPLES = REPO / "examples" / "feeds"
STORIES = json.loads((REPO / "tests" / "data" / "incidents" / "stories.json").read_text())
CORPORA = {"dev": DEV_CORPUS / "feeds", "examples": EXAMPLES}
AMAZON = "amazon-rekognition-police-moratorium"
T0 = datetime(2024, 6, 6, 12, 0, tzinfo=UTC)


def _story(key: int, pledge: str, day: float, text: str, incident: int | None = None) -> Story:
    return Story(
        key=key,
        pledge_id=pledge,
        published=T0 + timedelta(days=day),
        words=story_words(text, ""),
        incident_id=incident,
    )


# --- the similarity ---------------------------------------------------------------------


def test_story_words_ignore_case_punctuation_stop_words_and_word_endings() -> None:
    a = story_words("Coca-Cola RECYCLED its goals!", "It was reported that...")
    b = story_words("coca cola recycling goal", "")
    assert a == b
    assert "the" not in story_words("the pledge", "") and "was" not in a


def test_similarity_is_jaccard_of_word_sets() -> None:
    a, b = frozenset({"a", "b", "c"}), frozenset({"b", "c", "d"})
    assert similarity(a, b) == pytest.approx(0.5)
    assert similarity(a, a) == 1.0
    assert similarity(frozenset(), frozenset()) == 0.0


def _entries(corpus: str) -> dict[str, Entry]:
    folder = CORPORA[corpus]
    out: dict[str, Entry] = {}
    for path in sorted(folder.glob("*.xml")):
        for e in parse(path.read_bytes(), url=str(path)).entries:
            if e.link:
                out[e.link] = e
    return out


def _labelled_pairs() -> list[tuple[bool, float, float, str]]:
    """(same story?, days apart, similarity, titles) for every pair on the same pledge."""
    corpora = ["examples"] + (["dev"] if DEV_CORPUS.is_dir() else [])
    entries = {c: _entries(c) for c in corpora}
    ambiguous = [set(pair) for pair in STORIES["ambiguous"]]
    items = []  # (corpus, pledge, story index, entry)
    for n, story in enumerate(STORIES["stories"]):
        if story["corpus"] not in entries:
            continue
        for link in story["links"]:
            items.append((story["corpus"], story["pledge"], n, entries[story["corpus"]][link]))
    pairs = []
    for (c1, p1, s1, e1), (c2, p2, s2, e2) in itertools.combinations(items, 2):
        if c1 != c2 or p1 != p2 or {e1.link, e2.link} in ambiguous:
            continue
        assert e1.published and e2.published
        days = abs((e1.published - e2.published).total_seconds()) / 86400
        score = similarity(story_words(e1.title, e1.text), story_words(e2.title, e2.text))
        pairs.append((s1 == s2, days, score, f"{e1.title} | {e2.title}"))
    return pairs


def test_threshold_separates_same_story_from_other_stories_on_the_labelled_corpora() -> None:
    """The measurement behind THRESHOLD: every same-story pair groups, no other pair in
    the window does. Prints the figures (pytest -s)."""
    pairs = _labelled_pairs()
    same = [p for p in pairs if p[0]]
    near_other = [p for p in pairs if not p[0] and p[1] <= WINDOW.days]
    far_other = [p for p in pairs if not p[0] and p[1] > WINDOW.days]
    assert len(same) >= 1 and same  # the examples alone give one same-story pair
    print(
        f"\nsame-story pairs: {len(same)}, similarity {min(p[2] for p in same):.3f}"
        f"-{max(p[2] for p in same):.3f}; other stories within {WINDOW.days} days: "
        f"{len(near_other)}, max {max((p[2] for p in near_other), default=0):.3f}; "
        f"other stories further apart: {len(far_other)}, "
        f"{sum(p[2] >= THRESHOLD for p in far_other)} above the threshold"
    )
    for _, days, score, titles in same:
        assert days <= WINDOW.days, titles
        assert score >= THRESHOLD, f"{score:.3f} {titles}"
    for _, _, score, titles in near_other:
        assert score < THRESHOLD, f"{score:.3f} {titles}"


# --- the grouping (pure) ----------------------------------------------------------------

TRIBUNAL = "former AWS employee tribunal says UK police used Rekognition despite moratorium"
TRIBUNAL_2 = "Amazon denies UK police used Rekognition despite moratorium, tribunal hears"
OTHER = "Amazon extends moratorium on police use of Rekognition until further notice"


def test_near_duplicates_on_the_same_pledge_within_the_window_form_one_new_incident() -> None:
    g = group_stories([], [_story(2, AMAZON, 1, TRIBUNAL_2), _story(1, AMAZON, 0, TRIBUNAL)])
    assert g.new_groups == [[1, 2]]  # earliest first
    assert g.joins == {}


def test_the_same_words_on_another_pledge_or_outside_the_window_are_another_incident() -> None:
    g = group_stories(
        [],
        [
            _story(1, AMAZON, 0, TRIBUNAL),
            _story(2, "another-pledge", 1, TRIBUNAL),
            _story(3, AMAZON, WINDOW.days + 1, TRIBUNAL),
            _story(4, AMAZON, 2, "Coca-Cola lowers its recycled packaging goal"),
        ],
    )
    assert sorted(g.new_groups) == [[1], [2], [3], [4]]


def test_a_new_flag_joins_the_existing_incident_of_its_best_match() -> None:
    grouped = [_story(10, AMAZON, 0, TRIBUNAL, incident=7), _story(11, AMAZON, 0, OTHER, 8)]
    g = group_stories(grouped, [_story(12, AMAZON, 3, TRIBUNAL_2)])
    assert g.joins == {12: 7}
    assert g.new_groups == []


def test_stories_chain_through_their_members() -> None:
    # 1 and 3 are 20 days apart, but each is within the window of 2.
    g = group_stories(
        [],
        [
            _story(1, AMAZON, 0, TRIBUNAL),
            _story(2, AMAZON, 10, TRIBUNAL_2),
            _story(3, AMAZON, 20, TRIBUNAL),
        ],
    )
    assert g.new_groups == [[1, 2, 3]]


@pytest.mark.timeout(60)
def test_a_flood_of_one_story_groups_in_near_linear_time() -> None:
    """20,000 copies of one story, a word changed in each: one incident, in seconds.

    Comparing each copy with every earlier one is 2e8 comparisons (hours); the word
    index compares each with a few of the latest copies."""
    copies = [_story(i, AMAZON, i / 2000, f"{TRIBUNAL} case{i} ref{i * 7}") for i in range(20_000)]
    g = group_stories([], copies)
    assert g.new_groups == [list(range(20_000))]


def own_words(i: int, n: int = 60) -> str:
    """`n` words whose first four letters (what grouping compares) belong to story `i`."""
    words = []
    for k in range(i * n, (i + 1) * n):
        letters = ""
        for _ in range(4):
            k, r = divmod(k, 26)
            letters += chr(ord("a") + r)
        words.append(letters + "x")
    return " ".join(words)


@pytest.mark.timeout(60)
def test_a_flood_of_distinct_stories_stays_apart_in_near_linear_time() -> None:
    """Words every story shares stop being candidates; each story's own words still are."""
    shared = "Amazon police facial recognition"
    stories = [_story(i, AMAZON, i / 500, f"{shared} {own_words(i)}") for i in range(5_000)]
    late_copy = _story(99_999, AMAZON, 9, f"{shared} {own_words(5)}")
    g = group_stories([], [*stories, late_copy])
    assert len(g.new_groups) == 5_000
    assert g.new_groups[5] == [5, 99_999]


# --- the database side ------------------------------------------------------------------


def _load(db: Database, catalogue: Path) -> None:
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(catalogue))


def test_the_tribunal_story_from_two_outlets_is_one_incident_with_both_sources(
    db: Database,
) -> None:
    _load(db, shipped_catalogue())
    ingest_files(db=db, paths=[str(EXAMPLES / "tech-policy-weekly.xml")], now=T0)
    later = T0 + timedelta(hours=30)
    ingest_files(db=db, paths=[str(EXAMPLES / "business-daily.xml")], now=later)
    with db.session() as s:
        flags = s.exec(select(Flag).where(Flag.pledge_id == AMAZON)).all()
        by_incident: dict[int, list[Flag]] = {}
        for f in flags:
            assert f.incident_id is not None
            by_incident.setdefault(f.incident_id, []).append(f)
        shared = [i for i, members in by_incident.items() if len(members) > 1]
        assert len(shared) == 1  # the tribunal story; the 2020 and 2021 stories stand alone
        incident = s.get(Incident, shared[0])
        assert incident is not None
        assert {f.first_raised_at.replace(tzinfo=UTC) for f in by_incident[shared[0]]} == {
            T0,
            later,
        }
        assert incident.first_seen_at.replace(tzinfo=UTC) == T0
        assert incident.last_seen_at.replace(tzinfo=UTC) == later
        assert all(f.incident_id is not None for f in s.exec(select(Flag)).all())


@pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason=f"no dev corpus at {DEV_CORPUS}")
def test_flags_on_the_dev_corpus_share_an_incident_exactly_when_they_report_one_story(
    sqlite_db: Database,
) -> None:
    _load(sqlite_db, DEV_CORPUS / "catalogue")
    # Ingested after the newest item (the corpus is dated up to 2026), so dates are kept.
    feeds = sorted(str(p) for p in (DEV_CORPUS / "feeds").glob("*.xml"))
    ingest_files(db=sqlite_db, paths=feeds, now=datetime(2026, 11, 21, tzinfo=UTC))
    story_of = {
        link: n
        for n, s in enumerate(STORIES["stories"])
        if s["corpus"] == "dev"
        for link in s["links"]
    }
    ambiguous = [set(p) for p in STORIES["ambiguous"]]
    with sqlite_db.session() as s:
        flags = s.exec(
            select(Flag, Article).join(Article, col(Article.id) == Flag.article_id)
        ).all()
    checked = 0
    for (f1, a1), (f2, a2) in itertools.combinations(flags, 2):
        if f1.pledge_id != f2.pledge_id or {a1.url, a2.url} in ambiguous:
            continue
        if a1.url not in story_of or a2.url not in story_of:
            continue
        same = story_of[a1.url] == story_of[a2.url]
        assert (f1.incident_id == f2.incident_id) is same, (a1.title, a2.title)
        checked += 1
    assert checked >= 5


def test_flags_list_group_shows_one_line_per_story_with_sources_and_best_score(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", url, "catalogue", "sync"]).exit_code == 0
    feeds = [str(EXAMPLES / n) for n in ("tech-policy-weekly.xml", "business-daily.xml")]
    assert runner.invoke(cli, ["--db", url, "ingest", *feeds]).exit_code == 0
    flat = json.loads(
        runner.invoke(
            cli, ["--db", url, "flags", "list", "--pledge", AMAZON, "--format", "json"]
        ).output
    )
    result = runner.invoke(
        cli, ["--db", url, "flags", "list", "--group", "--pledge", AMAZON, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    grouped = json.loads(result.output)
    assert len(grouped) < len(flat)
    tribunal = [g for g in grouped if g["sources"] == 2]
    assert len(tribunal) == 1
    t = tribunal[0]
    members = [f for f in flat if f["id"] in t["flag_ids"]]
    assert t["score"] == max(f["score"] for f in members)
    assert sorted(t["outlets"]) == ["Tech Policy Weekly", "The Business Daily"]
    table = runner.invoke(cli, ["--db", url, "flags", "list", "--group"])
    assert table.exit_code == 0 and "sources" in table.output
    # Incident numbers are not flag ids, so the column that holds them says so.
    assert table.output.split()[0] == "incident"
    csv_out = runner.invoke(cli, ["--db", url, "flags", "list", "--group", "--format", "csv"])
    header = csv_out.output.splitlines()[0]
    assert header.startswith("incident,date,company,pledge_id,kind,best_score")
    row = next(csv.DictReader(io.StringIO(csv_out.output)))
    assert row["flags"] and all(part.isdigit() for part in row["flags"].split(","))


def test_group_rows_fold_flags_without_an_incident_on_their_own() -> None:
    def flag(i: int, incident: int | None, score: float, status: str) -> dict:
        return {
            "id": i,
            "incident_id": incident,
            "score": score,
            "status": status,
            "company": "Amazon",
            "pledge_id": AMAZON,
            "kind": "breach",
            "article": {
                "id": i,
                "title": f"t{i}",
                "published": T0 + timedelta(days=i),
                "sources": [{"outlet": f"o{i}", "source": f"s{i}"}],
            },
        }

    rows = group_flag_rows(
        [flag(1, 5, 0.7, "open"), flag(2, 5, 0.9, "confirmed"), flag(3, None, 0.6, "open")]
    )
    assert [r["flag_ids"] for r in rows] == [[3], [1, 2]]
    assert rows[1]["score"] == 0.9 and rows[1]["best_flag_id"] == 2
    assert rows[1]["status"] == "1 confirmed, 1 open"
    assert rows[1]["sources"] == 2 and rows[1]["outlets"] == ["o1", "o2"]
