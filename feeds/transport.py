"""An httpx transport whose connections go only to addresses the policy allows.

The check runs where connections are made: the host of every hop (the first URL and
each redirect) is resolved here, every address it resolves to is checked, and the
socket is opened to one of those checked addresses. TLS still verifies the host name.
So a second, different DNS answer cannot slip a private address in between the check
and the connect (DNS rebinding); connections kept alive in the pool were checked when
they were opened.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from feeds.addresses import AddressPolicy, check_addresses, resolve_async
from feeds.errors import FetchError

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked one."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_async(host, port)
        except TimeoutError as exc:
            raise FetchError(f"resolving {host} took over {timeout}s", kind="dns") from exc
        allowed = check_addresses(host, addresses, self.policy)
        last: Exception | None = None
        for ip in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("unix sockets are not feed addresses", kind="unsafe_url")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """A verifying TLS context (certifi's roots), built once: loading the roots takes 70 ms."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a connection pool that uses GuardedBackend."""

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        ctx = ssl_context or tls_context()
        super().__init__(verify=ctx, limits=limits, trust_env=False)
        # httpx builds its pool without a network backend option; rebuild it with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ctx,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
