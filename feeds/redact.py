"""Secrets in URLs: the one rule for hiding them before a URL leaves the server.

A feed URL may carry credentials (`https://user:password@host/feed`, `?apikey=...`), and
so may a database URL (`postgresql+psycopg://:password@host/db?password=...`). Every
answer, page, export, log line and error message shows `redact_url(url)` (or, for free
text, `redact_text(text)`) instead; only the fetcher and the database driver see the
real thing.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

MASK = "********"
# Query parameter names (lower-cased, punctuation dropped) that hold a secret: api_key,
# X-Api-Key, access_token, client_secret, sslpassword, X-Amz-Signature, X-Amz-Credential...
_SECRET_NAME = re.compile(
    r"(key|token|secret|passw(or)?d|pwd|pass|sig|signature|auth|authorization|"
    r"credentials?|session|sessionid|jwt)$"
)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter of this name would carry a credential."""
    return bool(_SECRET_NAME.search(re.sub(r"[^a-z0-9]", "", unquote_plus(name).lower())))


def _redact_params(params: str, *, drop: bool = False) -> str:
    parts = []
    for part in params.split("&"):
        name, eq, value = part.partition("=")
        if eq and value and is_secret_name(name):
            if drop:
                continue
            part = f"{name}={MASK}"
        parts.append(part)
    return "&".join(parts)


def _rewrite(url: str, *, drop: bool) -> str:
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    authority = re.match(r"[^/?#]*", rest)
    assert authority is not None  # the pattern matches the empty string
    netloc, tail = authority.group(0), rest[authority.end() :]
    userinfo, at, hostport = netloc.rpartition("@")
    if at and drop:
        netloc = hostport
    elif at:
        user, colon, password = userinfo.partition(":")
        if colon and password:
            netloc = f"{user}:{MASK}@{hostport}"
    before_fragment, hash_, fragment = tail.partition("#")
    path, qmark, query = before_fragment.partition("?")
    if qmark:
        query = _redact_params(query, drop=drop)
        qmark = qmark if query or not drop else ""
    if hash_ and "=" in fragment:  # OAuth puts tokens in the fragment
        fragment = _redact_params(fragment, drop=drop)
    return f"{head}{sep}{netloc}{path}{qmark}{query}{hash_}{fragment}"


def redact_url(url: str) -> str:
    """`url` with its password and secret-looking query parameters masked.

    The user name, host, path and other parameters stay, so the URL can still be
    recognised. Text that is not a URL with `://` comes back unchanged.
    """
    return _rewrite(url, drop=False)


def without_secrets(url: str) -> str:
    """`url` with its user info and secret-looking query parameters removed.

    The base that links in a feed are resolved against: a relative link must not
    inherit the feed's credentials.
    """
    return _rewrite(url, drop=True)


def redact_text(text: str) -> str:
    """Free text (an error message, a log line) with every URL in it redacted."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


class RedactSecrets(logging.Filter):
    """A log handler filter: URL secrets masked in every line, whichever module logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True
