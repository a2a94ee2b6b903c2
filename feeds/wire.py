"""aiohttp's side of fetching: request targets, response headers as text, its errors as ours.

Pure helpers for feeds.fetch. URLs are parsed and checked once per process (the same
feed URLs come back every poll); headers are read as Latin-1, as HTTP defines their
bytes; each aiohttp exception becomes a FetchError whose kind feed health records.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

import aiohttp
from aiohttp.http_exceptions import ContentLengthError, HttpProcessingError
from aiohttp.typedefs import RawHeaders
from multidict import CIMultiDictProxy
from yarl import URL

from feeds.addresses import check_url
from feeds.errors import FetchError

# Characters left as they are in a request target; others (spaces, non-ASCII) are
# percent-encoded, and existing %XX escapes are kept.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
# Feed URLs whose parsed and checked forms are kept between polls.
URL_CACHE_SIZE = 8192

# Parsing and checking the same URLs every poll was a good part of a 304's CPU; both
# are pure and their results immutable.
checked_url = functools.lru_cache(maxsize=URL_CACHE_SIZE)(check_url)


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def request_target(url: str) -> URL:
    """A checked URL as aiohttp will request it.

    The path and query go out as stored, with only spaces and non-ASCII characters
    percent-encoded: re-quoting (yarl's default) would turn `%2F` into `/` and a space
    into `+`, which some servers read differently.
    """
    try:
        parsed = URL(url)
        parts = urlsplit(url)
        target = f"{parsed.scheme}://{parsed.raw_authority}"
        target += quote(parts.path or "/", safe=_TARGET_SAFE)
        if parts.query:
            target += "?" + quote(parts.query, safe=_TARGET_SAFE)
        return URL(target, encoded=True)
    except (ValueError, UnicodeError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", url=url, kind="unsafe_url") from exc


def storable(text: str) -> str:
    """The text with lone surrogates (aiohttp's escapes for undecodable bytes) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def response_headers(raw: RawHeaders) -> dict[str, str]:
    """Response headers with lower-case names, repeated ones joined by ', '.

    Decoded as Latin-1, as HTTP defines field bytes: aiohttp's own decoding (UTF-8 with
    surrogate escapes) would hand lone surrogates to the database for a byte like 0xE9.
    """
    out: dict[str, str] = {}
    for raw_name, raw_value in raw:
        key = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def transfer_codings(headers: CIMultiDictProxy[str], url: str) -> tuple[str, ...]:
    """The transfer codings listed before chunked (or before the close), for BodyDecoder.

    aiohttp undoes chunked only; the others (gzip, deflate) are ours to undo, capped.
    """
    listed = ",".join(headers.getall("Transfer-Encoding", ()))
    codings = [c.partition(";")[0].strip().lower() for c in listed.split(",")]
    # "identity" (RFC 2616, since withdrawn) changes nothing; old servers still send it.
    codings = [c for c in codings if c and c != "identity"]
    if codings and codings[-1] == "chunked":
        codings.pop()
    if "chunked" in codings:
        raise FetchError(
            f"Transfer-Encoding {listed!r} is not supported: "
            "chunked must be the last coding, applied once",
            url=url,
            kind="unsupported_encoding",
        )
    return tuple(codings)


def fetch_error(
    exc: aiohttp.ClientError, url: str, *, connect_timeout: float, read_timeout: float
) -> FetchError:
    """The FetchError, with its kind, for what aiohttp raised."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        text = f"could not connect within {connect_timeout}s ([feeds] connect_timeout)"
        return FetchError(text, url=url, kind="timeout")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        text = f"server sent nothing for {read_timeout}s ([feeds] read_timeout)"
        return FetchError(text, url=url, kind="timeout")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return FetchError(f"timed out: {exc}", url=url, kind="timeout")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        text = f"TLS certificate not accepted: {exc.certificate_error}"
        return FetchError(text, url=url, kind="tls")
    if isinstance(exc, aiohttp.ClientSSLError):
        return FetchError(f"TLS handshake failed: {exc.os_error}", url=url, kind="tls")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        text = f"cannot resolve host {exc.host}: {exc.os_error}"
        return FetchError(text, url=url, kind="dns")
    if isinstance(exc, aiohttp.ClientConnectorError):
        text = f"could not connect to {exc.host} port {exc.port}: {exc.os_error}"
        return FetchError(text, url=url, kind="connection")
    if isinstance(exc, aiohttp.ClientResponseError):
        # Without raise_for_status, aiohttp raises this only for a response llhttp
        # cannot parse: a framing the server got wrong, not a network fault.
        text = f"the server's response is not valid HTTP/1.1: {_one_line(exc.message)}"
        return FetchError(text, url=url, kind="bad_response")
    if isinstance(exc, aiohttp.ClientPayloadError):
        cause = _parser_error(exc)
        if isinstance(cause, ContentLengthError):
            text = "connection broken by the server: the body ended short of its Content-Length"
            return FetchError(text, url=url, kind="connection")
        if cause is not None:
            text = f"the server's chunked body is not valid HTTP/1.1: {_one_line(cause.message)}"
            return FetchError(text, url=url, kind="bad_response")
        return FetchError(f"connection broken by the server: {exc}", url=url, kind="connection")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        text = "connection broken by the server: closed before the response was complete"
        return FetchError(text, url=url, kind="connection")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(f"invalid URL: {exc}", url=url, kind="unsafe_url")
    text = str(exc) or type(exc).__name__
    return FetchError(f"connection broken by the server: {text}", url=url, kind="connection")


def _one_line(message: str) -> str:
    """A parser message on one line (feeds print one line each), without its caret line."""
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line.strip("^ "))


def _parser_error(exc: BaseException) -> HttpProcessingError | None:
    """The parser error behind a ClientPayloadError (chained as its cause), if any."""
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, HttpProcessingError):
        cause = cause.__cause__
    return cause


@contextmanager
def body_fails_on_close(resp: aiohttp.ClientResponse) -> Iterator[None]:
    """While reading a body, fail the read if its connection closes without ending it.

    When llhttp rejects a chunk after the head was delivered, aiohttp closes the
    connection but leaves the body stream waiting, with the read timeout stopped: the
    read would hang until the deadline and fail as a timeout. Here the close fails it
    at once, with the parser's error.
    """
    conn = resp.connection
    protocol = conn.protocol if conn is not None else None
    if protocol is None:
        yield  # the body had arrived whole and the connection went back already
        return
    content = resp.content

    def on_close(closed: asyncio.Future[None] | None = None) -> None:
        if closed is not None and not closed.cancelled():
            closed.exception()  # retrieved, so asyncio does not log it
        if content.is_eof() or content.exception() is not None:
            return
        cause = protocol.exception()
        error = aiohttp.ClientPayloadError(f"connection closed in the middle of the body: {cause}")
        error.__cause__ = cause
        content.set_exception(error)

    closed = protocol.closed
    if closed is None:
        on_close()  # lost already
        yield
        return
    closed.add_done_callback(on_close)
    try:
        yield
    finally:
        closed.remove_done_callback(on_close)
