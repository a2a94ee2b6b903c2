"""`catalogue validate` and `catalogue sync` with a user's own pledges, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from monitor.cli import cli
from pledges.catalogue import shipped_catalogue

OWN = """\
id: apple-carbon-neutral-2030
company:
  name: Apple
title: Carbon neutral across the supply chain and products by 2030
kind: target
statement: >-
  Apple committed in July 2020 to make its whole business, including its manufacturing
  supply chain and the life cycle of its products, carbon neutral by 2030.
made_on: 2020-07-21
effective_until: 2030-12-31
status: active
subject: [carbon neutral, carbon neutrality]
scope: [supply chain, products]
sources:
  - https://www.apple.com/newsroom/2020/07/apple-commits-to-be-100-percent-carbon-neutral-for-its-supply-chain-and-products-by-2030/
"""

SHIPPED_COUNT = len(list(shipped_catalogue().glob("*.yaml")))


def own_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my-pledges"
    folder.mkdir()
    (folder / "apple-carbon-neutral-2030.yaml").write_text(OWN, encoding="utf-8")
    return folder


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def active_ids(db: Path) -> set[str]:
    rows = json.loads(invoke(db, "pledges", "list", "--format", "json").output)
    return {r["id"] for r in rows}


def test_shipped_and_own_pledges_sync_together(tmp_path: Path) -> None:
    db, folder = tmp_path / "pw.db", own_folder(tmp_path)
    assert invoke(db, "catalogue", "sync").exit_code == 0
    result = invoke(db, "catalogue", "sync", "--shipped", str(folder))
    assert result.exit_code == 0, result.output
    assert f"synced {SHIPPED_COUNT + 1} pledges" in result.output
    assert "0 retired" in result.output
    assert "note: retired" not in result.output
    ids = active_ids(db)
    assert len(ids) == SHIPPED_COUNT + 1
    assert {"apple-carbon-neutral-2030", "amazon-rekognition-police-moratorium"} <= ids


def test_syncing_only_an_own_folder_says_what_it_retired_and_how_to_keep_it(
    tmp_path: Path,
) -> None:
    db, folder = tmp_path / "pw.db", own_folder(tmp_path)
    invoke(db, "catalogue", "sync")
    result = invoke(db, "catalogue", "sync", str(folder))
    assert result.exit_code == 0, result.output
    assert "synced 1 pledge (1 added" in result.output
    assert f"note: retired {SHIPPED_COUNT} pledges not in the paths given" in result.output
    assert "amazon-climate-pledge-net-zero-2040" in result.output
    assert "pledgewatch catalogue sync --shipped YOUR_FOLDER" in result.output
    assert active_ids(db) == {"apple-carbon-neutral-2030"}


def test_validate_takes_a_single_pledge_file(tmp_path: Path) -> None:
    single = own_folder(tmp_path) / "apple-carbon-neutral-2030.yaml"
    result = CliRunner().invoke(cli, ["catalogue", "validate", "--shipped", str(single)])
    assert result.exit_code == 0, result.output
    assert f"{SHIPPED_COUNT + 1} pledges OK" in result.output


def test_validate_names_a_clash_with_the_shipped_catalogue(tmp_path: Path) -> None:
    folder = own_folder(tmp_path)
    clash = OWN.replace("name: Apple", "name: Apple\n  aliases: [AWS]")
    (folder / "apple-carbon-neutral-2030.yaml").write_text(clash, encoding="utf-8")
    alone = CliRunner().invoke(cli, ["catalogue", "validate", str(folder)])
    assert alone.exit_code == 0, alone.output
    together = CliRunner().invoke(cli, ["catalogue", "validate", "--shipped", str(folder)])
    assert together.exit_code == 2
    assert "'AWS' already names company 'Amazon'" in together.output
