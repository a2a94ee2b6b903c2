"""Feed text made safe to show: one line, safe links, evidence split into emphasised runs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Segment:
    """A run of an evidence sentence; `role` is set on matched words (emphasised)."""

    text: str
    role: str | None = None


def one_line(value: str | None) -> str:
    """Feed text for display and headers: control characters and line breaks collapsed."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value)
    return " ".join(_CONTROL.sub(" ", value).split())


def safe_url(value: str | None) -> str | None:
    """An http(s) URL with a host, else None (no javascript:, data:, relative links)."""
    value = one_line(value).replace(" ", "%20")
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


def flag_url(base_url: str, flag_id: int) -> str | None:
    """The flag's page in `pledgewatch serve`, when a public base URL is configured."""
    base = safe_url(base_url)
    return f"{base.rstrip('/')}/flags/{flag_id}" if base else None


def base_url_warning(base_url: str) -> str | None:
    """Why digest stories will not link to their flag pages, or None when they will."""
    if not base_url.strip():
        return (
            "[digest] base_url is not set (PLEDGEWATCH_DIGEST_BASE_URL), so digest stories "
            "do not link to their flag pages; set it to the public URL of `pledgewatch serve`"
        )
    if safe_url(base_url) is None:
        return (
            f"[digest] base_url {one_line(base_url)!r} is not an http(s) URL with a host, so "
            "digest stories do not link to their flag pages"
        )
    return None


def emphasise(sentence: str, spans: Sequence[Mapping[str, Any]]) -> tuple[Segment, ...]:
    """Split a sentence into plain and matched runs; bad or overlapping spans are skipped."""
    out: list[Segment] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (int(s.get("start", 0)), -int(s.get("end", 0)))):
        start, end = int(span.get("start", -1)), int(span.get("end", -1))
        if start < pos or end <= start or end > len(sentence):
            continue
        if start > pos:
            out.append(Segment(one_line_keep_edges(sentence[pos:start])))
        out.append(Segment(one_line(sentence[start:end]), str(span.get("role") or "match")))
        pos = end
    if pos < len(sentence):
        out.append(Segment(one_line_keep_edges(sentence[pos:])))
    return tuple(s for s in out if s.text)


def one_line_keep_edges(value: str) -> str:
    """Like one_line, but a run that began or ended with a space keeps one."""
    core = one_line(value)
    if not core:
        return " " if value else ""
    lead = " " if value[:1].isspace() else ""
    tail = " " if value[-1:].isspace() else ""
    return f"{lead}{core}{tail}"


CUE_ROLES = frozenset({"breach", "rollback"})


def best_evidence(evidence: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The sentence that matters most: one with a breach or rollback cue first, then a body
    sentence over the headline (the digest shows the headline anyway), then the one tying
    the most kinds of match together (company, subject, scope, cue, commitment)."""

    def weight(item: tuple[int, Mapping[str, Any]]) -> tuple[bool, bool, int, int]:
        index, ev = item
        roles = {str(s.get("role")) for s in ev.get("spans") or [] if isinstance(s, Mapping)}
        return bool(roles & CUE_ROLES), not ev.get("in_title"), len(roles), -index

    candidates = [(i, ev) for i, ev in enumerate(evidence) if ev.get("sentence")]
    if not candidates:
        return None
    return max(candidates, key=weight)[1]
