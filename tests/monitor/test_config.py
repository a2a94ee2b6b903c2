"""Configuration: one TOML file plus env, validated naming the culprit, documented in full."""

from __future__ import annotations

import importlib.util
import json
import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import ConfigError, Settings, load_settings
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No pledgewatch.toml from the working directory, no PLEDGEWATCH_* from the shell.
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("PLEDGEWATCH_")]:
        monkeypatch.delenv(var)


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, args, env=env or {}, catch_exceptions=False)


def test_config_check_prints_the_effective_config_with_secrets_hidden(tmp_path: Path) -> None:
    cfg = tmp_path / "pledgewatch.toml"
    cfg.write_text(
        '[database]\nurl = "postgresql+psycopg://watch:hunter2@db.example.org/pw"\n'
        '[smtp]\nhost = "mail.example.org"\nuser = "digest"\npassword = "s3cret-pass"\n'
        "[daemon]\npoll_tick_seconds = 30\n",
        encoding="utf-8",
    )
    result = run(
        ["--config", str(cfg), "config", "check"],
        env={"PLEDGEWATCH_DIGEST_TO": "a@example.org, b@example.org"},
    )
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "s3cret-pass" not in result.output
    doc = tomllib.loads(result.stdout)
    assert doc["database"]["url"] == "postgresql+psycopg://watch:********@db.example.org/pw"
    assert doc["smtp"]["password"] == "********"
    assert doc["smtp"]["host"] == "mail.example.org"
    assert doc["daemon"]["poll_tick_seconds"] == 30
    assert doc["digest"]["to"] == ["a@example.org", "b@example.org"]
    assert str(cfg) in result.stdout  # says where it came from


def test_config_check_output_is_itself_a_valid_config_file(tmp_path: Path) -> None:
    result = run(["config", "check"], env={"PLEDGEWATCH_FEEDS_CONCURRENCY": "7"})
    assert result.exit_code == 0
    again = tmp_path / "again.toml"
    again.write_text(result.stdout, encoding="utf-8")
    reloaded = load_settings(again, env={})
    assert reloaded.feeds.concurrency == 7
    assert (
        reloaded.model_dump()
        == load_settings(
            None, env={"PLEDGEWATCH_FEEDS_CONCURRENCY": "7", "PLEDGEWATCH_CONFIG": str(again)}
        ).model_dump()
    )


def test_config_check_as_json(tmp_path: Path) -> None:
    result = run(["config", "check", "--format", "json"], env={"PLEDGEWATCH_SMTP_PASSWORD": "pw1"})
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["smtp"]["password"] == "********"
    assert set(data) == set(Settings.model_fields)


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("PLEDGEWATCH_DAEMON_POLL_TICK_SECONDS", "0", "PLEDGEWATCH_DAEMON_POLL_TICK_SECONDS"),
        ("PLEDGEWATCH_DAEMON_HEARTBEAT_SECONDS", "often", "PLEDGEWATCH_DAEMON_HEARTBEAT_SECONDS"),
        ("PLEDGEWATCH_SMTP_SECURITY", "tls13", "PLEDGEWATCH_SMTP_SECURITY"),
        ("PLEDGEWATCH_DAEMON_ALLOW_NETWORK_FILESYSTEM", "maybe", "expected true or false"),
    ],
)
def test_an_invalid_variable_stops_config_check_naming_it(
    var: str, value: str, expected: str
) -> None:
    result = run(["config", "check"], env={var: value})
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_a_numeric_day_of_week_is_rejected_by_validation(tmp_path: Path) -> None:
    # APScheduler counts Monday as 0 and cron counts Sunday as 0: only names are accepted.
    for raw in ("0", "1", "7", "mon-fri"):
        with pytest.raises(ConfigError, match="PLEDGEWATCH_DIGEST_WEEKDAY.*day name"):
            load_settings(None, env={"PLEDGEWATCH_DIGEST_WEEKDAY": raw})
    cfg = tmp_path / "c.toml"
    cfg.write_text("[digest]\nweekday = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[digest\] weekday"):
        load_settings(cfg, env={})
    assert load_settings(None, env={"PLEDGEWATCH_DIGEST_WEEKDAY": "Sunday"}).digest.weekday == (
        "sunday"
    )


def test_an_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[daemon]\npoll_tick_secs = 5\n", encoding="utf-8")
    result = run(["--config", str(cfg), "config", "check"])
    assert result.exit_code == 1
    assert "[daemon] poll_tick_secs: unknown key" in result.output


@pytest.mark.timeout(10)
def test_a_config_path_that_is_no_regular_file_is_one_line_not_a_hang(tmp_path: Path) -> None:
    """/dev/zero never ends and a FIFO without a writer blocks an ordinary open."""
    os.mkfifo(tmp_path / "pipe.toml")
    for path, what in [("/dev/zero", "a character device"), (tmp_path / "pipe.toml", "a FIFO")]:
        with pytest.raises(ConfigError) as info:
            load_settings(path, env={})
        assert str(info.value).startswith(f"{path}: cannot read config file: not a regular file")
        assert what in str(info.value)
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "missing.toml", env={})


def test_short_environment_forms_are_accepted() -> None:
    s = load_settings(None, env={
        "PLEDGEWATCH_DB": "postgresql://u@h/db",
        "PLEDGEWATCH_DIGEST_FROM": "watch@example.org",
        "PLEDGEWATCH_SMTP_HOST": "smtp.example.org",
        "PLEDGEWATCH_SMTP_PORT": "2525",
    })  # fmt: skip
    assert s.database.url == "postgresql://u@h/db"
    assert s.digest.from_addr == "watch@example.org"
    assert (s.smtp.host, s.smtp.port) == ("smtp.example.org", 2525)


def test_environment_wins_over_the_file_and_the_command_line_over_both(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[daemon]\nheartbeat_seconds = 10\n[database]\nurl = "a.db"\n', "utf-8")
    s = load_settings(
        cfg,
        env={"PLEDGEWATCH_DAEMON_HEARTBEAT_SECONDS": "20", "PLEDGEWATCH_DB": "b.db"},
        database_url="c.db",
    )
    assert s.daemon.heartbeat_seconds == 20
    assert s.database.url == "c.db"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://:SECRET@db.example.org/pw",
        "postgresql+psycopg://watch@db.example.org/pw?password=SECRET",
        "postgres://watch:SECRET@db.example.org/pw?sslpassword=SECRET",
    ],
)
def test_config_check_hides_the_database_password_in_every_url_form(url: str) -> None:
    result = run(["config", "check"], env={"PLEDGEWATCH_DB": url})
    assert result.exit_code == 0, result.output
    assert "SECRET" not in result.output
    assert "db.example.org/pw" in result.output


def test_a_database_that_cannot_be_opened_is_named_without_its_password() -> None:
    # Port 9 on loopback: nothing listens, so the connection is refused at once.
    url = "postgresql+psycopg://:SECRET@127.0.0.1:9/pw?password=SECRET"
    result = CliRunner().invoke(cli, ["--db", url, "flags", "list"], env={})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot open database"), lines
    assert "SECRET" not in result.output and "127.0.0.1:9/pw" in result.output


def test_every_secret_looking_key_is_redacted() -> None:
    s = Settings.model_validate({"smtp": {"password": "x1"}})
    data = s.redacted()
    assert data["smtp"]["password"] == "********"
    # Empty secrets stay empty, so `config check` shows that none is set.
    assert Settings().redacted()["smtp"]["password"] == ""


def _config_doc_module():
    spec = importlib.util.spec_from_file_location("config_doc", REPO / "scripts" / "config_doc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_config_md_is_generated_from_the_settings_and_up_to_date() -> None:
    doc = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert doc == _config_doc_module().render(), (
        "docs/config.md is out of date: run .venv/bin/python scripts/config_doc.py"
    )


def test_docs_config_md_names_every_key_with_its_env_var_and_default() -> None:
    doc = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    for section, finfo in Settings.model_fields.items():
        model = finfo.get_default(call_default_factory=True)
        assert f"## [{section}]" in doc
        for key in type(model).model_fields:
            row = next((line for line in doc.splitlines() if line.startswith(f"| `{key}` |")), None)
            assert row is not None, f"[{section}] {key} missing from docs/config.md"
            if key != "subscriptions":
                assert f"PLEDGEWATCH_{section}_{key}".upper() in doc


def test_a_lease_shorter_than_a_fetch_is_rejected_naming_both_keys() -> None:
    # Otherwise a slow fetch outlives its claim and a second daemon polls the feed again.
    with pytest.raises(ConfigError) as err:
        load_settings(None, env={"PLEDGEWATCH_DAEMON_LEASE_SECONDS": "20"})
    message = str(err.value)
    assert "[daemon] lease_seconds (20)" in message and "[feeds] total_timeout (30)" in message
    assert "PLEDGEWATCH_DAEMON_LEASE_SECONDS" in message
    ok = load_settings(
        None,
        env={"PLEDGEWATCH_DAEMON_LEASE_SECONDS": "20", "PLEDGEWATCH_FEEDS_TOTAL_TIMEOUT": "15"},
    )
    assert ok.daemon.lease_seconds == 20


def test_the_example_server_config_is_valid() -> None:
    s = load_settings(REPO / "deploy" / "pledgewatch.toml.example", env={})
    assert s.database.url.startswith("postgresql+psycopg://")
    assert s.digest.weekday == "monday" and s.smtp.security == "starttls"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("PLEDGEWATCH_DIGEST_TO", "a@example.org\r\nBcc: everyone@example.org"),
        ("PLEDGEWATCH_DIGEST_TO", "a@example.org, not-an-address"),
        ("PLEDGEWATCH_DIGEST_FROM", "watch@example.org\nBcc: x@example.org"),
        ("PLEDGEWATCH_DIGEST_FROM", "watch@"),
        ("PLEDGEWATCH_DIGEST_FROM", "a@example.org, b@example.org"),
    ],
)
def test_a_bad_digest_address_is_refused_naming_the_variable(var: str, value: str) -> None:
    result = CliRunner().invoke(cli, ["config", "check"], env={var: value})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {var}: "), lines
    assert "not an email address" in lines[0]
    with pytest.raises(ConfigError, match=var):
        load_settings(env={var: value})


def test_a_bad_subscriber_address_is_refused_naming_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "pledgewatch.toml"
    cfg.write_text('[[digest.subscriptions]]\nemail = "desk@example.org\\r\\nBcc: x@y"\n')
    with pytest.raises(ConfigError, match=r"subscriptions\.0\.email: .*not an email address"):
        load_settings(cfg, env={})


def test_good_addresses_pass_with_a_display_name_on_from() -> None:
    s = load_settings(
        env={
            "PLEDGEWATCH_DIGEST_FROM": '"Pledge watch, NGO" <watch@example.org>',
            "PLEDGEWATCH_DIGEST_TO": "a@example.org, b.c+news@example.co.uk",
        }
    )
    assert s.digest.to == ["a@example.org", "b.c+news@example.co.uk"]
    assert s.digest.from_addr.endswith("<watch@example.org>")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        # aiohttp refuses such a header at every fetch, with an exception no feed expects.
        ("PLEDGEWATCH_FEEDS_USER_AGENT", "pledgewatch/1\r\nX-Injected: yes"),
        ("PLEDGEWATCH_SMTP_HOST", "mail.example.org\nevil.example.org"),
        ("PLEDGEWATCH_SMTP_USER", "watch\r\nMAIL FROM:<x@example.org>"),
        ("PLEDGEWATCH_DIGEST_BASE_URL", "https://pw.example.org/\r\nBcc: x@example.org"),
        ("PLEDGEWATCH_API_HOST", "127.0.0.1\n"),
        ("PLEDGEWATCH_DATABASE_URL", "sqlite:///pw.db\x1b[2J"),
    ],
)
def test_a_setting_with_a_line_break_or_control_character_is_refused(var: str, value: str) -> None:
    result = CliRunner().invoke(cli, ["config", "check"], env={var: value})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {var}: "), lines
    assert "control character" in lines[0]


def test_a_control_character_in_the_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[feeds]\nuser_agent = "pw/1\\r\\nX-Injected: yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[feeds\] user_agent: contains a control character"):
        load_settings(cfg, env={})


def test_true_or_false_for_a_number_is_refused_not_read_as_one_or_zero(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[feeds]\nconcurrency = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[feeds\] concurrency: .*not true or false"):
        load_settings(cfg, env={})
    cfg.write_text("[api]\npublic_reads = false\n", encoding="utf-8")
    assert load_settings(cfg, env={}).api.public_reads is False


def test_a_config_file_nested_too_deeply_is_one_line_naming_it(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[feeds]\nallowed_networks = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ConfigError, match=rf"{cfg}: invalid TOML: nested too deeply"):
        load_settings(cfg, env={})
