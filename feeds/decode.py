"""Bounded decoding of a response body: the cap holds on the decompressed size (pure).

A gzip bomb is a few hundred kilobytes that inflate to gigabytes. Decompressing in
steps with ``max_length`` stops it at the cap without ever holding more than the cap
in memory (httpx's own decoding buffered hundreds of megabytes before a size check
could see them). Only encodings whose output can be bounded this way are accepted, as
a Content-Encoding or as transfer codings before chunked; every step is capped.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

from feeds.errors import FetchError

SUPPORTED_ENCODINGS = ("gzip", "x-gzip", "deflate")
# The decoded size a feed may have unless configured otherwise ([feeds] max_bytes).
DEFAULT_MAX_BYTES = 10_000_000
# What a request advertises: nothing we cannot decode within the cap.
ACCEPT_ENCODING = "gzip, deflate"
# Transfer codings undone at most (each holds a zlib state; a hostile head could list
# thousands).
MAX_TRANSFER_CODINGS = 3
# wbits 32+15: accept a gzip or zlib header and detect which.
_AUTO_HEADER = 47
_RAW_DEFLATE = -15


class _Inflate:
    """One gzip or deflate step whose output is capped at `max_bytes`."""

    def __init__(self, coding: str, label: str, decoder: BodyDecoder) -> None:
        self.coding = coding
        # How the step is named in messages ("gzip", "gzip transfer coding").
        self.label = label
        self.decoder = decoder
        self.size = 0
        self._z = zlib.decompressobj(_AUTO_HEADER)
        self._raw_fallback_tried = False

    def decompress(self, data: bytes) -> Iterator[bytes]:
        cap = self.decoder.max_bytes
        while data and not self._z.eof:
            try:
                out = self._z.decompress(data, cap - self.size + 1)
            except zlib.error as exc:
                if self._retry_as_raw_deflate():
                    continue
                raise self.decoder.bad(f"is not valid {self.label} data ({exc})") from exc
            self._count(out)
            if out:
                yield out
            data = self._z.unconsumed_tail

    def flush(self) -> bytes:
        try:
            out = self._z.flush()
        except zlib.error as exc:
            raise self.decoder.bad(f"is truncated {self.label} data ({exc})") from exc
        self._count(out)
        return out

    def _count(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.decoder.max_bytes:
            self.decoder.too_large(decoded=True)

    def _retry_as_raw_deflate(self) -> bool:
        # Some servers send "deflate" without the zlib header the RFC asks for.
        if self.coding != "deflate" or self._raw_fallback_tried or self.size:
            return False
        self._raw_fallback_tried = True
        self._z = zlib.decompressobj(_RAW_DEFLATE)
        return True


class BodyDecoder:
    """Feed raw chunks in, get the decoded body out; raises FetchError past the cap.

    `transfer_codings` are those a response listed before chunked, in the order the
    server applied them; they are undone last first, then the Content-Encoding.
    """

    def __init__(
        self,
        content_encoding: str | None,
        *,
        max_bytes: int,
        url: str = "",
        what: str = "response body",
        transfer_codings: Sequence[str] = (),
    ) -> None:
        self.max_bytes = max_bytes
        self.url = url
        # What the bytes are, for messages ("response body", "file").
        self.what = what
        self.size = 0
        self.raw_size = 0
        self._parts: list[bytes] = []
        self._steps: list[_Inflate] = []
        for coding in reversed(transfer_codings):
            self._steps.append(self._transfer_step(coding, len(transfer_codings)))
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
        if self.coding != "identity":
            self._steps.append(_Inflate(self.coding, self.coding, self))

    def _transfer_step(self, coding: str, count: int) -> _Inflate:
        if coding not in SUPPORTED_ENCODINGS or count > MAX_TRANSFER_CODINGS:
            reason = (
                f"{coding!r} is not supported (only gzip and deflate, whose decoded size "
                "can be capped, before chunked)"
                if coding not in SUPPORTED_ENCODINGS
                else f"lists {count} codings (at most {MAX_TRANSFER_CODINGS} are undone)"
            )
            raise FetchError(
                f"Transfer-Encoding {reason}", url=self.url, kind="unsupported_encoding"
            )
        return _Inflate(coding, f"{coding} transfer coding", self)

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk from the wire."""
        self.raw_size += len(chunk)
        if self.raw_size > self.max_bytes:
            self.too_large(decoded=False)
        self._push(chunk, 0)

    def finish(self) -> bytes:
        """The whole decoded body."""
        for i, step in enumerate(self._steps):
            self._push(step.flush(), i + 1)
        return b"".join(self._parts)

    def _push(self, data: bytes, step: int) -> None:
        # Through the steps from `step` on; each yields pieces no larger than the cap.
        if step == len(self._steps):
            self._add(data)
            return
        for out in self._steps[step].decompress(data):
            self._push(out, step + 1)

    def _add(self, out: bytes) -> None:
        if not out:
            return
        self.size += len(out)
        if self.size > self.max_bytes:
            self.too_large(decoded=bool(self._steps))
        self._parts.append(out)

    def bad(self, problem: str) -> FetchError:
        """The error for bytes a step cannot decode."""
        return FetchError(f"{self.what} {problem}", url=self.url, kind="bad_encoding")

    def too_large(self, *, decoded: bool) -> None:
        raise FetchError(
            f"{self.what} is over the {self.max_bytes} byte cap"
            f"{' once decompressed' if decoded else ''} ([feeds] max_bytes); "
            "a feed this large is refused",
            url=self.url,
            kind="too_large",
        )
