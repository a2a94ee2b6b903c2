"""A catalogue folder is loaded whole or not at all, and every problem is named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pledges.catalogue import (
    MAX_PLEDGE_FILE_BYTES,
    catalogue_schema,
    load_catalogue,
    load_catalogues,
    shipped_catalogue,
)
from pledges.errors import CatalogueError

GOOD = """\
id: {id}
company:
  name: {company}
  aliases: [{alias}]
  products: []
title: A promise
kind: moratorium
statement: The company promised something specific.
made_on: 2020-06-10
effective_until: null
status: active
subject: [facial recognition]
scope: [police]
sources: [https://example.org/a]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def good(pid: str = "acme-promise", company: str = "Acme", alias: str = "Acme Corp") -> str:
    return GOOD.format(id=pid, company=company, alias=alias)


def problems_for(tmp_path: Path, name: str, text: str) -> list[str]:
    write(tmp_path, name, text)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    return [str(p) for p in info.value.problems]


def test_a_valid_file_loads(tmp_path: Path) -> None:
    write(tmp_path, "acme-promise.yaml", good())
    [pledge] = load_catalogue(tmp_path)
    assert pledge.id == "acme-promise"
    assert pledge.company.aliases == ["Acme Corp"]


BAD_CASES = {
    "broken yaml": ("acme-promise.yaml", "id: [unclosed\n", "line"),
    "not a mapping": ("acme-promise.yaml", "- just\n- a list\n", "expected a mapping"),
    "empty file": ("acme-promise.yaml", "", "expected a mapping of fields, got empty"),
    "unknown key": ("acme-promise.yaml", good() + "colour: blue\n", "colour: unknown field"),
    "comma in an unquoted flow value": (
        "acme-promise.yaml",
        good()
        + "history:\n- {date: 2021-05-18, event: paused, then extended, source: https://e.org/h}\n",
        "history[0].then extended: unknown field (in a {...} mapping a comma ends a value: "
        "quote text with a comma)",
    ),
    "unknown nested key": (
        "acme-promise.yaml",
        good().replace("  products: []", "  products: []\n  ceo: X"),
        "company.ceo: unknown field",
    ),
    "missing title": (
        "acme-promise.yaml",
        good().replace("title: A promise\n", ""),
        "title: required field is missing",
    ),
    "bad date": ("acme-promise.yaml", good().replace("2020-06-10", "2020-13-45"), "made_on"),
    "date as words": ("acme-promise.yaml", good().replace("2020-06-10", "last june"), "made_on"),
    "until before made": (
        "acme-promise.yaml",
        good().replace("effective_until: null", "effective_until: 2019-01-01"),
        "effective_until is before made_on",
    ),
    "bad kind": ("acme-promise.yaml", good().replace("kind: moratorium", "kind: wish"), "kind"),
    "bad status": (
        "acme-promise.yaml",
        good().replace("status: active", "status: maybe"),
        "status",
    ),
    "subject wrong type": (
        "acme-promise.yaml",
        good().replace("subject: [facial recognition]", "subject: 7"),
        "subject",
    ),
    "empty subject": (
        "acme-promise.yaml",
        good().replace("subject: [facial recognition]", "subject: []"),
        "subject",
    ),
    "no sources": (
        "acme-promise.yaml",
        good().replace("sources: [https://example.org/a]", "sources: []"),
        "sources",
    ),
    "source not a url": (
        "acme-promise.yaml",
        good().replace("https://example.org/a", "see the website"),
        "sources",
    ),
    "bad id": ("Acme_Promise.yaml", good(pid="Acme_Promise"), "id"),
    "id not file name": ("other-name.yaml", good(), "must equal the file name"),
    "blank company": ("acme-promise.yaml", good(company="'  '"), "company.name"),
    "bad history date": (
        "acme-promise.yaml",
        good() + "history:\n- {date: soon, event: extended}\n",
        "history[0].date",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_reported_with_file_and_field(tmp_path: Path, case: str) -> None:
    name, text, expected = BAD_CASES[case]
    problems = problems_for(tmp_path, name, text)
    assert problems, case
    assert all(p.startswith(str(tmp_path / name) + ": ") for p in problems), problems
    assert any(expected in p for p in problems), problems


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", good(pid="one").replace("kind: moratorium", "kind: wish"))
    write(
        tmp_path,
        "two.yaml",
        good(pid="two")
        .replace("status: active", "status: maybe")
        .replace("company:\n  name: Acme", "company:\n  name: Beta")
        .replace("Acme Corp", "Beta Corp"),
    )
    write(tmp_path, "three.yaml", "id: [\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    files = {p.path for p in info.value.problems}
    assert files == {str(tmp_path / n) for n in ("one.yaml", "two.yaml", "three.yaml")}


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "acme-promise.yaml", good())
    write(tmp_path, "acme-promise.yml", good())
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    assert any("duplicate id" in str(p) for p in info.value.problems)


def test_an_alias_shared_by_two_companies_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "acme-promise.yaml", good(alias="Widgets"))
    write(tmp_path, "beta-promise.yaml", good(pid="beta-promise", company="Beta", alias="widgets"))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    [problem] = info.value.problems
    assert problem.field == "company.aliases[0]"
    assert "already names company 'Acme'" in problem.message


def test_the_same_company_may_appear_in_many_files(tmp_path: Path) -> None:
    write(tmp_path, "acme-one.yaml", good(pid="acme-one"))
    write(tmp_path, "acme-two.yaml", good(pid="acme-two", alias="ACME Inc"))
    assert len(load_catalogue(tmp_path)) == 2


def test_missing_and_empty_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no such folder"):
        load_catalogue(tmp_path / "nope")
    with pytest.raises(CatalogueError, match="no pledge files"):
        load_catalogue(tmp_path)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "acme-promise.yaml").write_bytes(b"id: \xff\xfe\n")
    with pytest.raises(CatalogueError, match="unreadable"):
        load_catalogue(tmp_path)


def test_the_shipped_catalogue_is_valid_and_broad() -> None:
    pledges = load_catalogue(shipped_catalogue())
    assert len(pledges) >= 20
    ids = {p.id for p in pledges}
    assert "amazon-rekognition-police-moratorium" in ids
    amazon = next(p for p in pledges if p.id == "amazon-rekognition-police-moratorium")
    assert str(amazon.made_on) == "2020-06-10"
    assert any(e.date.isoformat() == "2021-05-18" for e in amazon.history)


def test_the_schema_is_json_schema_that_accepts_the_shipped_files() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads(json.dumps(catalogue_schema(), default=str))
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(shipped_catalogue().glob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        errors = list(validator.iter_errors(data))
        assert not errors, (path, errors[:1])


def test_a_symlink_to_a_device_is_one_problem_not_a_runaway_read(tmp_path: Path) -> None:
    """/dev/zero never ends: reading it whole grew the process until the kernel killed it."""
    write(tmp_path, "acme-promise.yaml", good())
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    assert problems_for(tmp_path, "acme-promise.yaml", good()) == [
        f"{tmp_path / 'zero.yaml'}: (file): not a regular file (a character device); refused"
    ]


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    assert problems_for(tmp_path, "acme-promise.yaml", good()) == [
        f"{tmp_path / 'pipe.yaml'}: (file): not a regular file (a FIFO (named pipe)); refused"
    ]


def test_a_folder_named_like_a_pledge_and_an_oversized_file_are_problems(
    tmp_path: Path,
) -> None:
    (tmp_path / "dir.yaml").mkdir()
    write(tmp_path, "big.yaml", "# " + "x" * MAX_PLEDGE_FILE_BYTES)
    assert problems_for(tmp_path, "acme-promise.yaml", good()) == [
        f"{tmp_path / 'big.yaml'}: (file): file is {MAX_PLEDGE_FILE_BYTES + 2} bytes, "
        f"over the {MAX_PLEDGE_FILE_BYTES} byte cap",
        f"{tmp_path / 'dir.yaml'}: (file): not a regular file (a directory); refused",
    ]


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_yaml_nested_a_hundred_thousand_deep_is_one_problem(tmp_path: Path, opener: str) -> None:
    text = opener * 100_000
    assert problems_for(tmp_path, "acme-promise.yaml", text) == [
        f"{tmp_path / 'acme-promise.yaml'}: (file): invalid YAML: nested too deeply"
    ]


def test_yaml_aliases_are_one_problem_not_billions_of_values(tmp_path: Path) -> None:
    # Eleven anchors, each nine of the one before: 9**11 strings in 600 bytes, which
    # grew `catalogue validate` past 3 GB within a minute.
    lines = ['l1: &l1 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(2, 12):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\nid: acme-promise\ntitle: *l11\n"
    assert problems_for(tmp_path, "acme-promise.yaml", text) == [
        f"{tmp_path / 'acme-promise.yaml'}: line 2: invalid YAML: "
        "aliases (*name) are not allowed in pledge files"
    ]


def test_folders_and_single_files_load_together_as_one_catalogue(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    single = write(mine, "acme-promise.yaml", good())
    pledges = load_catalogues([shipped_catalogue(), single])
    ids = {p.id for p in pledges}
    assert "acme-promise" in ids
    assert "amazon-rekognition-police-moratorium" in ids
    # The same file named on its own and through its folder is read once.
    assert len(load_catalogues([mine, single])) == 1


def test_the_checks_across_files_span_every_path_given(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    write(one, "acme-promise.yaml", good(alias="Widgets"))
    write(two, "beta-promise.yaml", good(pid="beta-promise", company="Beta", alias="widgets"))
    with pytest.raises(CatalogueError) as info:
        load_catalogues([one, two])
    [problem] = info.value.problems
    assert problem.path == str(two / "beta-promise.yaml")
    assert "already names company 'Acme'" in problem.message


def test_a_path_that_is_not_a_pledge_file_is_named(tmp_path: Path) -> None:
    notes = write(tmp_path, "notes.txt", "not a pledge")
    with pytest.raises(CatalogueError) as info:
        load_catalogues([notes, tmp_path / "missing"])
    messages = [str(p) for p in info.value.problems]
    assert any("notes.txt" in m and "not a pledge file" in m for m in messages)
    assert any("missing" in m and "no such folder or file" in m for m in messages)
