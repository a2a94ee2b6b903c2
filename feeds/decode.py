"""Bounded decoding of a response body: the cap holds on the decompressed size (pure).

A gzip bomb is a few hundred kilobytes that inflate to gigabytes. Decompressing in
steps with ``max_length`` stops it at the cap without ever holding more than the cap
in memory (httpx's own decoding buffered hundreds of megabytes before a size check
could see them). Only encodings whose output can be bounded this way are accepted.
"""

from __future__ import annotations

import zlib

from feeds.errors import FetchError

SUPPORTED_ENCODINGS = ("gzip", "x-gzip", "deflate")
# The decoded size a feed may have unless configured otherwise ([feeds] max_bytes).
DEFAULT_MAX_BYTES = 10_000_000
# What a request advertises: nothing we cannot decode within the cap.
ACCEPT_ENCODING = "gzip, deflate"
# wbits 32+15: accept a gzip or zlib header and detect which.
_AUTO_HEADER = 47
_RAW_DEFLATE = -15


class BodyDecoder:
    """Feed raw chunks in, get the decoded body out; raises FetchError past the cap."""

    def __init__(
        self,
        content_encoding: str | None,
        *,
        max_bytes: int,
        url: str = "",
        what: str = "response body",
    ) -> None:
        self.max_bytes = max_bytes
        self.url = url
        # What the bytes are, for messages ("response body", "file").
        self.what = what
        self.size = 0
        self.raw_size = 0
        self._parts: list[bytes] = []
        codings = [
            c.strip().lower()
            for c in (content_encoding or "").split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        if len(codings) > 1:
            raise FetchError(
                f"stacked Content-Encoding {content_encoding!r} is not supported",
                url=url,
                kind="unsupported_encoding",
            )
        self.coding = codings[0] if codings else "identity"
        if self.coding != "identity" and self.coding not in SUPPORTED_ENCODINGS:
            raise FetchError(
                f"Content-Encoding {self.coding!r} is not supported (only gzip and deflate, "
                "whose decoded size can be capped); the server ignored Accept-Encoding",
                url=url,
                kind="unsupported_encoding",
            )
        self._z = zlib.decompressobj(_AUTO_HEADER) if self.coding != "identity" else None
        self._raw_fallback_tried = False

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk from the wire."""
        self.raw_size += len(chunk)
        if self.raw_size > self.max_bytes:
            self._too_large(decoded=False)
        if self._z is None:
            self._add(chunk)
            return
        data = chunk
        while data and not self._z.eof:
            try:
                out = self._z.decompress(data, self.max_bytes - self.size + 1)
            except zlib.error as exc:
                if self._retry_as_raw_deflate():
                    continue
                raise FetchError(
                    f"{self.what} is not valid {self.coding} data ({exc})",
                    url=self.url,
                    kind="bad_encoding",
                ) from exc
            self._add(out)
            data = self._z.unconsumed_tail

    def finish(self) -> bytes:
        """The whole decoded body."""
        if self._z is not None:
            try:
                self._add(self._z.flush())
            except zlib.error as exc:
                raise FetchError(
                    f"{self.what} is truncated {self.coding} data ({exc})",
                    url=self.url,
                    kind="bad_encoding",
                ) from exc
        return b"".join(self._parts)

    def _retry_as_raw_deflate(self) -> bool:
        # Some servers send "deflate" without the zlib header the RFC asks for.
        if self.coding != "deflate" or self._raw_fallback_tried or self.size:
            return False
        self._raw_fallback_tried = True
        self._z = zlib.decompressobj(_RAW_DEFLATE)
        return True

    def _add(self, out: bytes) -> None:
        if not out:
            return
        self.size += len(out)
        if self.size > self.max_bytes:
            self._too_large(decoded=self._z is not None)
        self._parts.append(out)

    def _too_large(self, *, decoded: bool) -> None:
        raise FetchError(
            f"{self.what} is over the {self.max_bytes} byte cap"
            f"{' once decompressed' if decoded else ''} ([feeds] max_bytes); "
            "a feed this large is refused",
            url=self.url,
            kind="too_large",
        )
