"""Settings: one TOML file plus PLEDGEWATCH_* environment variables, validated at start.

Every key `[section] key` can also be set as `PLEDGEWATCH_<SECTION>_<KEY>`; a few short
forms are accepted too (`PLEDGEWATCH_DB`, `PLEDGEWATCH_DIGEST_FROM`). Environment wins
over the file; the command line (`--db`) wins over both.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from feeds.redact import redact_url
from localfiles import LocalFileError, read_local_text

DEFAULT_CONFIG_FILE = "pledgewatch.toml"
# A config file is a few KB; the cap keeps a mistyped path (a device, a dump) harmless.
MAX_CONFIG_BYTES = 1_000_000
# Keys whose values `config check` and logs never show.
SECRET_KEY = re.compile(r"password|secret|token")
# No setting spans lines: a line break in one would reach an HTTP or SMTP header or a log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ADDRESS_FIELDS = frozenset({"email", "from_addr", "to"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ConfigError(Exception):
    """The configuration is invalid; the message names the key or variable at fault."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, v: Any, info: ValidationInfo) -> Any:
        if info.field_name in _ADDRESS_FIELDS:
            return v  # refused as "not an email address", with the reason
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, str) and _CONTROL.search(item):
                raise ValueError("contains a control character (a line break or a tab?)")
        return v


class DatabaseSettings(_Section):
    url: str = Field("sqlite:///pledgewatch.db", description="SQLAlchemy URL or SQLite path")


class FeedSettings(_Section):
    allow_private_addresses: bool = Field(
        False, description="Allow feeds on loopback, private and link-local addresses"
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDR ranges allowed even though not public, e.g. an intranet feed server",
    )
    concurrency: int = Field(32, ge=1, le=1000, description="Fetches in flight at once")
    per_host: int = Field(2, ge=1, le=100, description="Fetches in flight per host")
    max_bytes: int = Field(10_000_000, ge=1024, description="Cap on a decoded response body")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect")
    read_timeout: float = Field(10.0, gt=0, description="Seconds between bytes")
    total_timeout: float = Field(30.0, gt=0, description="Wall-clock seconds per fetch")
    interval_minutes: int = Field(30, ge=5, description="Default polling interval per feed")
    max_opml_outlines: int = Field(
        10_000, ge=1, description="Outlines an OPML file may hold for `feeds import`"
    )
    min_interval_seconds: int = Field(
        300,
        ge=1,
        description="Floor on any feed's polling interval (5 min; lower it only for tests)",
    )
    max_backoff_hours: float = Field(24.0, gt=0, description="Longest wait after failures")
    user_agent: str = Field(
        "pledgewatch/0.1 (+https://github.com/pledgewatch/pledgewatch)",
        description="User-Agent header on every fetch",
    )

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"not a CIDR network: {net!r}") from exc
        return [n.strip() for n in v]


# Strings read as booleans, as pydantic reads them (an environment variable is a string).
_BOOLEANS = frozenset("0 1 true false yes no on off t f y n".split())
# `[detect] semantic`: off, on, or only its reading of the lexical candidates.
SemanticSetting = bool | Literal["reading"]


class DetectSettings(_Section):
    min_score: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Flag findings scoring at least this; unset: from the model's own "
        "threshold (for a fitted model, the cut `detector fit` learned: of the scores from "
        "0.3 to 0.6 whose leave-one-pledge-out F1 is within 0.005 of the best, the one "
        "nearest 0.5; `detector show` prints it, `eval --cv` shows what each score trades)",
    )
    semantic: SemanticSetting = Field(
        False,
        description="The semantic layer (needs the semantic extra). true: every article "
        "is read too: candidates are scored with how strongly it reads as a report of a "
        "breach or rollback, and reports worded unlike the pledge are flagged (about 40 ms "
        'more per article, and 10 ms per pledge the first time it compiles); "reading": '
        "only its reading, and only of articles with a candidate its reading could flag: "
        "no flags of its own, no pledge embedded; false: off",
    )

    @field_validator("semantic", mode="before")
    @classmethod
    def _semantic(cls, v: Any) -> Any:
        # One message naming every value allowed (a union would name only the first kind).
        if isinstance(v, str) and v.strip().lower() == "reading":
            return "reading"
        if v in (0, 1) or isinstance(v, str) and v.strip().lower() in _BOOLEANS:
            return v
        raise ValueError('must be true, false or "reading"')


def check_address(value: str, *, display_name: bool = False) -> str:
    """One email address (`name@domain`; also `Name <name@domain>` if `display_name`).

    A mail header is built from it, so CR, LF and other control characters are refused
    here, and so is a list of addresses where one is expected.
    """
    value = value.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"not an email address (control character in it): {value!r}")
    try:
        if display_name:
            header = HeaderRegistry()("From", value)
            if not isinstance(header, AddressHeader):  # "From" always parses as one
                raise ValueError
            if len(header.addresses) != 1 or header.defects:
                raise ValueError
            spec = header.addresses[0].addr_spec
        else:
            spec = value
        addr = Address(addr_spec=spec)
        if not addr.username or not addr.domain or addr.addr_spec != spec:
            raise ValueError
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise ValueError(f"not an email address: {value!r}") from exc
    return value


class Subscription(_Section):
    email: str
    companies: list[str] = Field(default_factory=list)
    pledges: list[str] = Field(default_factory=list)
    min_score: float = Field(0.0, ge=0, le=1)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return check_address(v)


class DigestSettings(_Section):
    weekday: str = Field("monday", description="Day the weekly digest is sent (a day name)")
    time: str = Field("08:00", description="Local time the digest is sent, HH:MM")
    timezone: str = Field("UTC", description="IANA zone for periods and send time")
    from_addr: str = Field("pledgewatch@localhost", description="From address")
    to: list[str] = Field(default_factory=list, description="Recipients (comma-separated in env)")
    skip_empty: bool = Field(False, description="Send nothing in weeks with nothing new")
    base_url: str = Field("", description="Public URL of `pledgewatch serve`, for links")
    catch_up_weeks: int = Field(4, ge=0, le=52, description="Missed weeks sent after downtime")
    max_attempts: int = Field(
        8, ge=1, le=100, description="Tries before a week that cannot be built is marked failed"
    )
    subscriptions: list[Subscription] = Field(default_factory=list)

    @field_validator("from_addr")
    @classmethod
    def _from(cls, v: str) -> str:
        return check_address(v, display_name=True)

    @field_validator("to")
    @classmethod
    def _to(cls, v: list[str]) -> list[str]:
        return [check_address(a) for a in v]

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, v: str) -> str:
        v = v.strip().lower()
        # Numbers are refused: APScheduler's day 0 is Monday, cron's is Sunday.
        if v not in WEEKDAYS:
            raise ValueError(f"must be a day name ({', '.join(WEEKDAYS)}), not {v!r}")
        return v

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", v.strip())
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            raise ValueError(f"must be HH:MM, not {v!r}")
        return f"{int(m[1]):02d}:{m[2]}"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SmtpSettings(_Section):
    host: str = Field("localhost", description="SMTP server")
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    user: str = ""
    password: str = Field("", description="Secret; redacted by `config check`")
    timeout: float = Field(30.0, gt=0, description="Seconds before a hung server is given up")


class DaemonSettings(_Section):
    poll_tick_seconds: int = Field(60, ge=1, description="How often due feeds are checked")
    digest_check_minutes: int = Field(5, ge=1, description="How often due digests are checked")
    maintenance_hours: int = Field(24, ge=1, description="How often maintenance runs")
    lease_seconds: int = Field(
        300, ge=2, description="How long a claim on a feed lasts (above feeds.total_timeout)"
    )
    heartbeat_seconds: int = Field(30, ge=1, description="How often the daemon says it is alive")
    prune_after_days: int = Field(365, ge=1, description="Drop unflagged article text after")
    startup_spread_seconds: int = Field(
        300, ge=0, description="Spread the first polls after start over this many seconds"
    )
    shutdown_grace_seconds: float = Field(
        6.0, gt=0, le=8, description="On SIGTERM, how long running jobs may finish"
    )
    allow_network_filesystem: bool = Field(
        False, description="Start even if the SQLite file is on NFS/CIFS/SSHFS (unsafe locks)"
    )


class ApiSettings(_Section):
    host: str = Field("127.0.0.1", description="Address `serve` binds")
    port: int = Field(8080, ge=1, le=65535)
    public_reads: bool = Field(True, description="Allow reads without a token")
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body accepted")
    read_cache_entries: int = Field(
        512, ge=0, description="Public /api/ answers kept until the SQLite file changes (0: off)"
    )


class Settings(_Section):
    """All of pledgewatch's configuration."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    detect: DetectSettings = Field(default_factory=DetectSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="after")
    def _lease_outlasts_a_fetch(self) -> Settings:
        # A claim that expires mid-fetch lets another daemon poll the same feed again.
        if self.daemon.lease_seconds <= self.feeds.total_timeout:
            raise ValueError(
                f"[daemon] lease_seconds ({self.daemon.lease_seconds}) must be longer than "
                f"[feeds] total_timeout ({self.feeds.total_timeout:g})"
            )
        return self

    def redacted(self) -> dict[str, Any]:
        """The effective settings with secrets hidden."""
        data = self.model_dump(mode="json")
        for values in data.values():
            for key, value in values.items():
                if value and SECRET_KEY.search(key):
                    values[key] = "********"
        data["database"]["url"] = redact_url(data["database"]["url"])
        data["digest"]["base_url"] = redact_url(data["digest"]["base_url"])
        return data


SHORT_ENV = {
    "PLEDGEWATCH_DB": ("database", "url"),
    "PLEDGEWATCH_DATABASE_URL": ("database", "url"),
    "PLEDGEWATCH_DIGEST_FROM": ("digest", "from_addr"),
}


def _env_key(section: str, key: str) -> str:
    return f"PLEDGEWATCH_{section}_{key}".upper()


def _coerce(raw: str, annotation: Any) -> Any:
    text = str(annotation)
    if annotation is bool or text == "bool":
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if "list" in text:
        return [p.strip() for p in raw.split(",") if p.strip()]
    return raw


def _refuse_booleans_for_numbers(path: Path, section: str, values: dict[str, Any]) -> None:
    # Validation would read `concurrency = true` as 1: a typo, not a number.
    factory = Settings.model_fields[section].default_factory
    fields = type(factory()).model_fields if factory else {}  # type: ignore[call-arg]
    for key, value in values.items():
        if isinstance(value, bool) and key in fields and fields[key].annotation in (int, float):
            raise ConfigError(f"{path}: [{section}] {key}: expected a number, not true or false")


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    database_url: str | None = None,
) -> Settings:
    """Build Settings from a TOML file, the environment and a command-line URL."""
    env = os.environ if env is None else env
    data: dict[str, dict[str, Any]] = {}
    path = Path(config_file) if config_file else None
    if path is None and env.get("PLEDGEWATCH_CONFIG"):
        path = Path(env["PLEDGEWATCH_CONFIG"])
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        try:
            raw = tomllib.loads(read_local_text(path, max_bytes=MAX_CONFIG_BYTES))
        except LocalFileError as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc.reason}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        except RecursionError as exc:
            raise ConfigError(f"{path}: invalid TOML: nested too deeply") from exc
        for section, values in raw.items():
            if section not in Settings.model_fields:
                raise ConfigError(f"{path}: [{section}]: unknown section")
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: {section}: expected a [{section}] table")
            _refuse_booleans_for_numbers(path, section, values)
            data[section] = dict(values)

    sources: dict[tuple[str, str], str] = {}
    for section, finfo in Settings.model_fields.items():
        model = finfo.default_factory() if finfo.default_factory else None  # type: ignore[call-arg]
        assert isinstance(model, BaseModel)
        for key, kinfo in type(model).model_fields.items():
            if key == "subscriptions":
                continue
            var = _env_key(section, key)
            if var in env:
                try:
                    data.setdefault(section, {})[key] = _coerce(env[var], kinfo.annotation)
                except ValueError as exc:
                    raise ConfigError(f"{var}: {exc}") from exc
                sources[(section, key)] = var
    for var, (section, key) in SHORT_ENV.items():
        if var in env:
            data.setdefault(section, {})[key] = env[var]
            sources[(section, key)] = var
    if database_url:
        data.setdefault("database", {})["url"] = database_url
        sources[("database", "url")] = "--db"

    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        where = sources.get((loc[0], loc[1])) if len(loc) >= 2 else None
        if where is None:
            where = f"{path or 'config'}: [{loc[0]}] {'.'.join(loc[1:])}" if loc else None
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        msg = msg.removeprefix("Value error, ")  # pydantic's wording, not the user's concern
        if where is None:  # a rule across keys: its message names them, and we their source
            given = [v for (sec, key), v in sources.items() if f"[{sec}] {key}" in msg]
            hint = f" (set by {', '.join(given)})" if given else ""
            raise ConfigError(f"{path or 'configuration'}: {msg}{hint}") from exc
        raise ConfigError(f"{where}: {msg}") from exc
