"""`pledgewatch eval` scores flags the way ../shared/eval/FORMAT.md defines, on real reporting."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.evaluation.corpus import CorpusError, Predicted, score
from monitor.evaluation.learning import corpus_rows
from tests.conftest import DEV_CORPUS

LABELS = [
    {"link": "a", "class": "breach", "expected": [{"pledge": "p1", "kind": "breach"}]},
    {"link": "b", "class": "rollback", "expected": [{"pledge": "p2", "kind": "rollback"}]},
    {"link": "c", "class": "related", "expected": []},
    {"link": "d", "class": "unrelated", "expected": []},
]


def test_true_and_false_positives_and_negatives_are_counted_per_pledge() -> None:
    report = score(
        LABELS,
        [
            Predicted("a", "p1", "rollback"),  # right pledge, wrong kind: still a true positive
            Predicted("c", "p1", "breach"),  # related item flagged: false positive
            Predicted("a", "p2", "breach"),  # right article, wrong pledge: false positive
        ],
    )
    o = report.overall
    assert (o.tp, o.fp, o.fn) == (1, 2, 1)
    assert o.precision == pytest.approx(1 / 3)
    assert o.recall == pytest.approx(1 / 2)
    assert o.f1 == pytest.approx(0.4)
    assert report.kind_accuracy == 0
    assert report.per_pledge["p1"].tp == 1 and report.per_pledge["p2"].fn == 1
    assert {fp["link"] for fp in report.false_positives} == {"a", "c"}
    assert [fn["link"] for fn in report.false_negatives] == ["b"]
    assert [(k["link"], k["kind"], k["expected_kind"]) for k in report.kind_disagreements] == [
        ("a", "rollback", "breach")
    ]


def test_no_flags_means_zero_recall_and_perfect_precision() -> None:
    report = score(LABELS, [])
    assert report.overall.recall == 0 and report.overall.f1 == 0


needs_dev = pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason=f"no dev corpus at {DEV_CORPUS}")


@needs_dev
def test_the_dev_corpus_meets_the_detection_target() -> None:
    result = CliRunner().invoke(cli, ["eval", str(DEV_CORPUS), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # F1 0.90 is the target; flags start from a cut learned left out pledge by pledge
    # (under 0.5), which trades some precision for recall.
    assert data["f1"] >= 0.90 and data["precision"] >= 0.80, data
    assert set(data) >= {"precision", "recall", "f1", "per_pledge", "false_positives"}


@needs_dev
def test_eval_agrees_with_sync_ingest_and_flags_list(tmp_path: Path) -> None:
    """The user's path (sync, ingest, flags list) scored independently gives eval's figures."""
    runner = CliRunner()
    db = ["--db", str(tmp_path / "pw.db")]
    assert (
        runner.invoke(cli, [*db, "catalogue", "sync", str(DEV_CORPUS / "catalogue")]).exit_code == 0
    )
    feeds = sorted(str(p) for p in (DEV_CORPUS / "feeds").glob("*.xml"))
    assert runner.invoke(cli, [*db, "ingest", *feeds]).exit_code == 0
    out = runner.invoke(cli, [*db, "flags", "list", "--format", "json"])
    flags = json.loads(out.output)
    labels = json.loads((DEV_CORPUS / "labels.json").read_text())["items"]
    links = {item["link"] for item in labels}
    assert {f["article"]["url"] for f in flags} <= links
    independent = score(
        labels, [Predicted(f["article"]["url"], f["pledge_id"], f["kind"]) for f in flags]
    )
    evaluated = json.loads(runner.invoke(cli, ["eval", str(DEV_CORPUS), "--format", "json"]).output)
    assert round(independent.overall.f1, 4) == evaluated["f1"]


HOLDOUT = Path(__file__).resolve().parents[3] / "eval" / "holdout"


def test_the_holdout_corpus_meets_the_detection_target() -> None:
    """A second corpus, written without sight of the detector, on eight other pledges."""
    result = CliRunner().invoke(cli, ["eval", str(HOLDOUT), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # F1 0.90 is the target; flags start from a cut learned left out pledge by pledge
    # (under 0.5), which trades some precision for recall.
    assert data["f1"] >= 0.90 and data["precision"] >= 0.80, data


def test_a_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no such folder" in result.output


def _corpus_with(tmp_path: Path, change: Callable[[list[dict[str, Any]]], None]) -> Path:
    """A copy of the holdout corpus whose labels `change` edits."""
    corpus = tmp_path / "corpus"
    shutil.copytree(HOLDOUT, corpus)
    data = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    change(data["items"])
    (corpus / "labels.json").write_text(json.dumps(data), encoding="utf-8")
    return corpus


def _first_flagged(items: list[dict[str, Any]]) -> dict[str, Any]:
    return next(i for i in items if i["expected"])


def _set_kind(items: list[dict[str, Any]]) -> None:
    _first_flagged(items)["expected"][0]["kind"] = "breech"


def _unknown_pledge(items: list[dict[str, Any]]) -> None:
    _first_flagged(items)["expected"][0]["pledge"] = "no-such-pledge"


def _duplicate(items: list[dict[str, Any]]) -> None:
    items.append(dict(items[0]))


def _related_with_flag(items: list[dict[str, Any]]) -> None:
    item = _first_flagged(items)
    item["class"] = "related"


def _breach_without_flag(items: list[dict[str, Any]]) -> None:
    _first_flagged(items)["expected"] = []


def _unknown_class(items: list[dict[str, Any]]) -> None:
    items[0]["class"] = "Breach"


def _link_in_no_feed(items: list[dict[str, Any]]) -> None:
    _first_flagged(items)["link"] = "https://example.org/not-in-any-feed"


def _no_link(items: list[dict[str, Any]]) -> None:
    del items[0]["link"]


def _pledge_twice(items: list[dict[str, Any]]) -> None:
    item = _first_flagged(items)
    item["expected"] = item["expected"] * 2


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_set_kind, "field 'expected[0].kind' is 'breech', not breach or rollback"),
        (_unknown_pledge, "'no-such-pledge' is not a pledge of"),
        (_duplicate, "the same link as items[0]"),
        (_related_with_flag, "class related expects no flag, but 'expected' lists one"),
        (_breach_without_flag, "expects a flag, but 'expected' is empty"),
        (_unknown_class, "field 'class' is 'Breach', not one of breach, rollback, related"),
        (_link_in_no_feed, "no item of"),
        (_no_link, "items[0]: field 'link' is missing or empty"),
        (_pledge_twice, "is listed twice"),
    ],
)
def test_a_label_that_would_skew_the_figures_is_refused_naming_item_and_field(
    tmp_path: Path, change: Callable[[list[dict[str, Any]]], None], says: str
) -> None:
    """A typo in a labels file would otherwise move precision or recall without a word."""
    corpus = _corpus_with(tmp_path, change)
    result = CliRunner().invoke(cli, ["eval", str(corpus)])
    assert result.exit_code == 1, result.output
    assert f"{corpus / 'labels.json'}: items[" in result.output
    assert says in result.output
    with pytest.raises(CorpusError, match=re.escape(says)):
        corpus_rows(corpus)


def test_feed_items_without_a_label_are_items_that_expect_no_flag(tmp_path: Path) -> None:
    """Labels may leave out items a good monitor should not flag; they count as such."""
    corpus = _corpus_with(tmp_path, lambda items: items.__setitem__(slice(None), items[:3]))
    result = CliRunner().invoke(cli, ["eval", str(corpus), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["items"] == 3


def test_a_feed_file_that_is_not_a_feed_is_named(tmp_path: Path) -> None:
    """Its items could never be flagged: the run stops and says which file, not only why."""
    corpus = _corpus_with(tmp_path, lambda items: None)
    broken = sorted((corpus / "feeds").glob("*.xml"))[0]
    broken.write_text("not a feed at all", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", str(corpus)])
    assert result.exit_code == 1, result.output
    assert f"{broken}: not a feed" in result.output
    with pytest.raises(CorpusError, match=re.escape(str(broken))):
        corpus_rows(corpus)


def test_a_feed_read_only_in_part_is_named_beside_the_missing_link(tmp_path: Path) -> None:
    """Ill-formed XML loses items without failing the feed: the missing link says where."""
    corpus = _corpus_with(tmp_path, lambda items: None)
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))["items"]
    flagged = {i["link"] for i in labels if i["expected"]}
    feed, link = next(
        (p, link)
        for p in sorted((corpus / "feeds").glob("*.xml"))
        for link in sorted(flagged)
        if f"<link>{link}</link>" in p.read_text(encoding="utf-8")
    )
    text = feed.read_text(encoding="utf-8")
    cut = text.rindex("<item>", 0, text.index(f"<link>{link}</link>"))
    feed.write_text(text[:cut], encoding="utf-8")  # the feed ends before that item
    result = CliRunner().invoke(cli, ["eval", str(corpus)])
    assert result.exit_code == 1, result.output
    assert "has this link" in result.output
    assert f"{feed} was read only in part" in " ".join(result.output.split())
