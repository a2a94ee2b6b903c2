"""Grouping flags into incidents: one story about one pledge, however many outlets ran it.

Two flags on the same pledge belong to the same story when their articles were published
within `WINDOW` of each other and their words overlap: the Jaccard similarity of the
sets of content words (casefolded, stop words dropped, cut to their first `PREFIX`
letters so that "recycled" meets "recycling") of title plus text is at least
`THRESHOLD`. Grouping is single-link: a flag joins the story of the most similar
earlier flag that qualifies.

A new flag is compared only with the flags an index of words finds for it, not with
every flag of its pledge (see `_StoryIndex`), and a batch reads back at most the latest
`LOADED_PER_INCIDENT` flags of each incident, so a flood of copies of one story costs
about what as many distinct stories do. Below those bounds (dozens of flags per story,
fewer than 64 stories sharing a word) the result is the one all pairs would give.

The threshold was measured on the labelled development corpus and the sample feeds
(`tests/monitor/flags/test_incidents.py` repeats the measurement; stories judged by reading
them in `tests/data/incidents/stories.json`). Outlets that rewrite a story in their own
words share few exact words: the 23 same-story pairs scored 0.093 to 0.361, the two pairs
of different stories on one pledge within the window at most 0.051. The window and the
pledge do much of the work: 44 of 57 pairs of different stories on one pledge further
apart than the window score above the threshold too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, update
from sqlalchemy import select as select_columns
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from feeds.models import Article
from monitor.flags.detection import insert_flags
from monitor.store.db import as_utc
from monitor.store.models import Flag, Incident

_INCIDENTS: Table = Incident.__table__  # type: ignore[attr-defined]
WINDOW = timedelta(days=14)
THRESHOLD = 0.08
PREFIX = 4
# Grouped flags of one incident compared with a batch: its latest ones. A story runs in a
# few dozen outlets; more are copies, and the latest of them say as much as all.
LOADED_PER_INCIDENT = 64

_WORD = re.compile(r"[^\W_]+")
# Function words and the vocabulary of reporting itself: they say nothing about the story.
STOP_WORDS = frozenset(
    """a about above after again against all also am amid an and any are as at be because
    been before being below between both but by can could did do does doing down during
    each few for from further had has have having he her here hers him his how i if in into
    is it its itself just me more most my no nor not now of off on once only or other our
    ours out over own per same she should so some such than that the their theirs them then
    there these they this those through to too under until up very via was we were what
    when where which while who whom why will with would you your yours
    says said say report reports reported according new week weeks year years""".split()
)


def story_words(title: str, text: str) -> frozenset[str]:
    """The content words of an article, normalised for comparing stories."""
    key = (title, len(text), hash(text))
    words = _WORDS_SEEN.get(key)
    if words is None:
        raw = unicodedata.normalize("NFKC", f"{title} {text}").casefold()
        words = frozenset(
            w[:PREFIX] for w in _WORD.findall(raw) if len(w) > 1 and w not in STOP_WORDS
        )
        if len(_WORDS_SEEN) >= _WORDS_SEEN_MAX:
            _WORDS_SEEN.clear()
        _WORDS_SEEN[key] = words
    return words


# Each batch compares its new flags with every grouped flag of the same pledges in the
# window, so the same stories' words were worked out again batch after batch. Keyed by a
# hash of the text, not the text: an article's text may be a megabyte.
_WORDS_SEEN: dict[tuple[str, int, int], frozenset[str]] = {}
_WORDS_SEEN_MAX = 4096


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


@dataclass(frozen=True)
class Story:
    """One flag as the grouping sees it."""

    key: int
    pledge_id: str
    published: datetime
    words: frozenset[str]
    incident_id: int | None = None


@dataclass
class Grouping:
    """Where each ungrouped story goes: an existing incident, or a new one."""

    joins: dict[int, int] = field(default_factory=dict)
    # Each new incident as story keys, its first (earliest) story first.
    new_groups: list[list[int]] = field(default_factory=list)


class _StoryIndex:
    """One pledge's stories by their words, to find the few worth comparing with a new one.

    Comparing a new story with every story of its pledge made a flood of one story
    quadratic (7,250 copies took 49 s). Each word lists, per group, its latest
    `PER_GROUP` stories; a word found in more than `MAX_GROUPS` groups tells stories
    apart no more than a stop word and is dropped from the index (not from the word
    sets Jaccard is computed on). Below those bounds every story sharing a word is a
    candidate, so the best match is the one a comparison with all of them finds.
    """

    MAX_GROUPS = 64
    PER_GROUP = 8
    MAX_CANDIDATES = 512

    def __init__(self) -> None:
        self.postings: dict[str, dict[tuple[str, int], list[Story]]] = {}
        self.common: set[str] = set()
        self.order: dict[int, int] = {}  # story key -> position added (ties go to the first)

    def add(self, story: Story, label: tuple[str, int]) -> None:
        self.order[story.key] = len(self.order)
        for word in story.words:
            if word in self.common:
                continue
            groups = self.postings.setdefault(word, {})
            members = groups.get(label)
            if members is None:
                if len(groups) >= self.MAX_GROUPS:
                    self.common.add(word)
                    del self.postings[word]
                    continue
                members = groups[label] = []
            members.append(story)
            if len(members) > self.PER_GROUP:
                del members[0]

    def candidates(self, story: Story) -> list[Story]:
        """Stories sharing an indexed word with `story`, in the order they were added."""
        found: dict[int, Story] = {}
        for word in story.words:
            for members in self.postings.get(word, {}).values():
                for other in members:
                    found[other.key] = other
            if len(found) >= self.MAX_CANDIDATES:
                break
        return sorted(found.values(), key=lambda s: self.order[s.key])


def group_stories(
    grouped: Iterable[Story],
    ungrouped: Iterable[Story],
    *,
    threshold: float = THRESHOLD,
    window: timedelta = WINDOW,
) -> Grouping:
    """Assign each ungrouped story to the incident of its best match, or start a new one.

    Stories are taken in publication order; each is compared with the stories of the
    same pledge published within `window` (already grouped ones and those placed before
    it) that share an indexed word with it (see _StoryIndex), and joins the most similar
    one scoring at least `threshold`.
    """
    by_pledge: dict[str, _StoryIndex] = {}
    # A story's group: ("incident", id) for existing incidents, ("new", index) otherwise.
    label: dict[int, tuple[str, int]] = {}
    for s in sorted(
        (s for s in grouped if s.incident_id is not None), key=lambda s: (s.published, s.key)
    ):
        assert s.incident_id is not None
        label[s.key] = ("incident", s.incident_id)
        by_pledge.setdefault(s.pledge_id, _StoryIndex()).add(s, label[s.key])
    out = Grouping()
    for story in sorted(ungrouped, key=lambda s: (s.published, s.key)):
        index = by_pledge.setdefault(story.pledge_id, _StoryIndex())
        best: Story | None = None
        best_score = threshold
        for other in index.candidates(story):
            if abs(other.published - story.published) > window:
                continue
            score = similarity(story.words, other.words)
            if score >= best_score and (best is None or score > best_score):
                best, best_score = other, score
        if best is None:
            label[story.key] = ("new", len(out.new_groups))
            out.new_groups.append([story.key])
        else:
            kind, ref = label[best.key]
            label[story.key] = (kind, ref)
            if kind == "incident":
                out.joins[story.key] = ref
            else:
                out.new_groups[ref].append(story.key)
        index.add(story, label[story.key])
    return out


def _published(published_at: datetime | None, raised_at: datetime | None) -> datetime:
    published = as_utc(published_at) or as_utc(raised_at)
    assert published is not None
    return published


def _story(flag: Flag, article: Article | None, key: int | None = None) -> Story:
    key = flag.id if key is None else key
    assert key is not None
    published_at = article.published_at if article is not None else None
    words = story_words(article.title, article.text) if article is not None else frozenset()
    return Story(
        key=key,
        pledge_id=flag.pledge_id,
        published=_published(published_at, flag.first_raised_at),
        words=words,
        incident_id=flag.incident_id,
    )


def assign_incidents(
    *,
    session: Session,
    flags: Sequence[Flag],
    now: datetime | None = None,
    articles: Mapping[int, Article] | None = None,
) -> None:
    """Put each new flag into the incident of the same story, creating incidents as needed.

    Runs in the caller's write transaction; compares with flags of the same pledges whose
    articles were published within the window. `articles` may hold the flags' articles
    (just stored); the others are read. New flags may still be pending: they are
    inserted with their incident, and all new incidents with one statement.
    """
    now = now or datetime.now(UTC)
    new = [f for f in flags if f.incident_id is None]
    if not new:
        return
    session.add_all(new)
    # Nothing is flushed before the new flags know their incident: then each is inserted
    # once, with it.
    with session.no_autoflush:
        _group(session, new, now, articles or {})
    insert_flags(session, new)
    session.flush()


def _group(
    session: Session, new: Sequence[Flag], now: datetime, known: Mapping[int, Article]
) -> None:
    """Set each new flag's incident_id, inserting new incidents with one statement."""
    # New flags may have no id yet: negative keys, in the order they would get ids.
    by_key = {i - len(new): f for i, f in enumerate(new)}
    articles = _articles(session, [f.article_id for f in new], known)
    stories = [_story(f, articles.get(f.article_id), key) for key, f in by_key.items()]
    lo = min(s.published for s in stories) - WINDOW
    hi = max(s.published for s in stories) + WINDOW
    new_ids = {f.id for f in new if f.id is not None}
    # Columns, not entities: loading grouped flags as ORM objects cost more than the
    # comparison. Only each incident's latest LOADED_PER_INCIDENT flags in the window:
    # a flood of one story would otherwise be read back whole for every batch.
    rank = (
        func.row_number()
        .over(
            partition_by=col(Flag.incident_id),
            order_by=(col(Article.published_at).desc(), col(Flag.id).desc()),
        )
        .label("rank")
    )
    ranked = (
        select_columns(
            col(Flag.id).label("id"),
            col(Flag.pledge_id).label("pledge_id"),
            col(Flag.incident_id).label("incident_id"),
            col(Flag.first_raised_at).label("raised_at"),
            col(Article.published_at).label("published_at"),
            col(Article.title).label("title"),
            col(Article.text).label("text"),
            rank,
        )
        .join(Article, col(Article.id) == Flag.article_id)
        .where(
            col(Flag.pledge_id).in_({f.pledge_id for f in new}),
            col(Flag.incident_id).is_not(None),
            col(Article.published_at) >= lo,
            col(Article.published_at) <= hi,
        )
        .subquery()
    )
    rows = session.execute(
        select_columns(
            ranked.c.id,
            ranked.c.pledge_id,
            ranked.c.incident_id,
            ranked.c.raised_at,
            ranked.c.published_at,
            ranked.c.title,
            ranked.c.text,
        ).where(ranked.c.rank <= LOADED_PER_INCIDENT)
    ).all()
    grouped = [
        Story(
            key=flag_id,
            pledge_id=pledge_id,
            published=_published(published_at, raised_at),
            words=story_words(title, text),
            incident_id=incident_id,
        )
        for flag_id, pledge_id, incident_id, raised_at, published_at, title, text in rows
        if flag_id not in new_ids
    ]
    grouping = group_stories(grouped, stories)

    for key, incident_id in grouping.joins.items():
        by_key[key].incident_id = incident_id
    if grouping.new_groups:
        leaders = [by_key[keys[0]] for keys in grouping.new_groups]
        values: list[dict[str, Any]] = [
            {
                "pledge_id": leader.pledge_id,
                "title": art.title if (art := articles.get(leader.article_id)) else "",
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for leader in leaders
        ]
        # RETURNING order is not promised; rows alike in every column are interchangeable.
        made: dict[tuple[str, str], list[int]] = {}
        stmt = insert(_INCIDENTS).returning(
            _INCIDENTS.c.id, _INCIDENTS.c.pledge_id, _INCIDENTS.c.title
        )
        for incident_id, pledge_id, title in session.execute(stmt, values):
            made.setdefault((pledge_id, title), []).append(incident_id)
        for keys, row in zip(grouping.new_groups, values, strict=True):
            incident_id = made[(row["pledge_id"], row["title"])].pop()
            for key in keys:
                by_key[key].incident_id = incident_id
    joined = sorted(set(grouping.joins.values()))
    if joined:
        session.execute(
            update(_INCIDENTS).where(_INCIDENTS.c.id.in_(joined)).values(last_seen_at=now)
        )


def _articles(
    session: Session, ids: Sequence[int], known: Mapping[int, Article]
) -> dict[int, Article]:
    """Articles by id: those given, those the session holds, else read."""
    out: dict[int, Article] = {}
    missing = []
    for article_id in sorted(set(ids)):
        held = known.get(article_id) or session.identity_map.get(identity_key(Article, article_id))
        if isinstance(held, Article):
            out[article_id] = held
        else:
            missing.append(article_id)
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        for a in session.exec(select(Article).where(col(Article.id).in_(chunk))).all():
            assert a.id is not None
            out[a.id] = a
    return out


def group_flag_rows(flags: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold flag dicts (monitor.query.flags shape) into one row per incident, newest first.

    A flag without an incident stands alone. Each row names the best-scoring flag, the
    number of distinct sources (articles) and outlets, and the statuses of its flags.
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for f in flags:
        key = ("incident", f["incident_id"]) if f["incident_id"] is not None else ("flag", f["id"])
        groups.setdefault(key, []).append(f)
    rows = []
    for (kind, ref), members in groups.items():
        best = max(members, key=lambda f: (f["score"], -f["id"]))
        dates = [f["article"]["published"] for f in members if f["article"]["published"]]
        outlets = {s["outlet"] or s["source"] for f in members for s in f["article"]["sources"]}
        rows.append(
            {
                "incident_id": ref if kind == "incident" else None,
                "first": min(dates) if dates else None,
                "last": max(dates) if dates else None,
                "company": best["company"],
                "pledge_id": best["pledge_id"],
                "kind": best["kind"],
                "score": best["score"],
                "status": status_summary([f["status"] for f in members]),
                "sources": len({f["article"]["id"] for f in members}),
                "outlets": sorted(outlets),
                "title": best["article"]["title"],
                "best_flag_id": best["id"],
                "flag_ids": sorted(f["id"] for f in members),
            }
        )
    rows.sort(
        key=lambda r: (r["last"] or datetime.min.replace(tzinfo=UTC), r["best_flag_id"]),
        reverse=True,
    )
    return rows


def status_summary(statuses: Sequence[str]) -> str:
    """One word when all flags agree, else the counts (`1 confirmed, 2 open`)."""
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
