"""Where fetches may connect: checked name resolution, IP literals, TLS and the connector.

aiohttp connects to the addresses its resolver returns, so checking them in the resolver
(CheckedResolver) means the address checked is the address connected to, and a second
DNS answer cannot slip a private address in between; TLS still verifies the certificate
against the URL's host name. A host that is an IP literal never reaches the resolver, so
the fetcher checks it on every hop (check_literal_host).
"""

from __future__ import annotations

import functools
import socket
import ssl

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace

from feeds.addresses import AddressPolicy, check_address, check_addresses, ip_literal
from feeds.errors import UnsafeURLError


@functools.cache
def tls_context() -> ssl.SSLContext:
    """A verifying TLS context (certifi's roots), built once: loading the roots takes 70 ms."""
    ctx = ssl.create_default_context(cafile=certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class CheckedResolver(AbstractResolver):
    """Resolves through aiohttp's threaded resolver and refuses hosts with unsafe addresses.

    One unsafe address refuses the whole host (as when a feed is added), so which of its
    addresses a connection attempt lands on never matters.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        check_addresses(host, [r["host"] for r in results], self.policy)
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_literal_host(host: str, policy: AddressPolicy, *, url: str) -> None:
    """Refuse an IP-literal host the policy does not allow (aiohttp skips the resolver).

    aiohttp treats any host with a colon, or of digits and dots only, as an address and
    connects to it directly; such a host must parse as an address and pass the policy.
    """
    if ":" not in host and not host.replace(".", "").isdigit():
        return  # a name: the resolver checks what it resolves to
    ip = ip_literal(host)
    if ip is None:
        raise UnsafeURLError(f"{host!r} is not a valid IP address; refused", url=url)
    check_address(ip, policy, host=host, url=url)


class FreshConnector(aiohttp.TCPConnector):
    """A TCPConnector that never reuses a kept-alive connection which received bytes idle.

    Bytes a server sends after a complete response, before our next request, would be
    read as the answer to that request: one feed's response could forge the next feed's
    on the same host. aiohttp parses such bytes as they arrive, which marks the
    connection `should_close`, but still hands it out; this connector closes it instead.
    """

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        while True:
            conn = await super().connect(req, traces, timeout)
            protocol = conn.protocol
            if protocol is None or not protocol.should_close:
                return conn
            conn.close()
