"""Address safety: which feed URLs and which resolved addresses may be fetched.

A feed URL is http or https with a host. Every address a host resolves to must be
globally routable (not loopback, private, link-local, cloud metadata, multicast,
reserved or unspecified, including IPv4 addresses embedded in IPv6 forms such as
``::ffff:127.0.0.1``), unless the operator allows private addresses or lists a network.
The fetcher applies this check in its resolver (feeds.connect) on every hop and connects
to the very address it checked, so a DNS answer cannot change between check and connect.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from feeds.errors import FeedError, FetchError, UnsafeURLError
from feeds.redact import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class AddressPolicy:
    """What may be fetched: public addresses, plus private ones if the operator says so."""

    allow_private: bool = False
    # Networks allowed even though they are not public (an intranet feed server).
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, *, allow_private: bool, allowed_networks: Iterable[str] = ()) -> AddressPolicy:
        """A policy from settings values (CIDR strings)."""
        nets = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in allowed_networks)
        return cls(allow_private=allow_private, allowed_networks=nets)

    def allows(self, ip: IPAddress) -> bool:
        if self.allow_private:
            return True
        if any(ip.version == net.version and ip in net for net in self.allowed_networks):
            return True
        return unsafe_reason(ip) is None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 form (mapped, compatible, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(ip.packed[-4:])
    # Deprecated IPv4-compatible form ::a.b.c.d (but not :: and ::1 themselves).
    if ip.packed[:12] == bytes(12) and int(ip) > 1:
        return ipaddress.IPv4Address(ip.packed[-4:])
    return None


def unsafe_reason(ip: IPAddress) -> str | None:
    """Why an address must not be fetched by default, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            reason = unsafe_reason(inner)
            return f"{reason} (embedded in {ip})" if reason else None
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "reserved address"
    if ip.is_private:
        return "private address"
    if not ip.is_global:
        return "address that is not globally routable"
    return None


def check_address(ip: IPAddress, policy: AddressPolicy, *, host: str, url: str = "") -> None:
    """Raise UnsafeURLError when the policy does not allow connecting to `ip`."""
    if policy.allows(ip):
        return
    reason = unsafe_reason(ip) or "address outside the allowed networks"
    raise UnsafeURLError(
        f"{host} resolves to {ip}, a {reason}; refused (set [feeds] "
        "allow_private_addresses = true or allowed_networks to permit it)",
        url=url,
    )


def check_addresses(
    host: str, addresses: Sequence[str], policy: AddressPolicy, *, url: str = ""
) -> list[IPAddress]:
    """Check every resolved address of a host; one unsafe address refuses the host."""
    if not addresses:
        raise FetchError(f"{host} did not resolve to any address", url=url, kind="dns")
    out: list[IPAddress] = []
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        check_address(ip, policy, host=host, url=url)
        if ip not in out:
            out.append(ip)
    return out


def check_url(url: str) -> str:
    """A feed URL normalised (scheme and host lower-cased, no fragment); refused if not http(s)."""
    raw = url.strip()
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # an unclosed "[" of an IPv6 literal, and the like
        raise UnsafeURLError(f"{redact_url(raw)!r} is not a valid URL: {exc}", url=url) from exc
    scheme = parts.scheme.lower()
    if not scheme or "://" not in raw:
        raise UnsafeURLError(
            f"{url!r} is not an http(s) URL (local files are read with `pledgewatch ingest`)",
            url=url,
        )
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(
            f"{scheme}: URLs are not fetched; feed URLs must be http or https", url=url
        )
    try:
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise UnsafeURLError(
            f"{redact_url(url)!r} has an invalid host or port: {exc}", url=url
        ) from exc
    if not host or any(ch.isspace() for ch in host):
        raise UnsafeURLError(f"{redact_url(url)!r} has no valid host", url=url)
    netloc = parts.netloc.rsplit("@", 1)
    hostport = netloc[-1].lower()
    userinfo = netloc[0] + "@" if len(netloc) == 2 else ""
    return urlunsplit((scheme, userinfo + hostport, parts.path or "/", parts.query, ""))


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


@functools.lru_cache(maxsize=4096)
def ip_literal(host: str) -> IPAddress | None:
    """The address a host names when it is an IP literal (a zone index dropped), else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """Every address a host name resolves to (blocking)."""
    literal = ip_literal(host)
    if literal is not None:
        return [str(literal)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}", kind="dns") from exc
    return _unique(str(info[4][0]) for info in infos)


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def check_feed_url(url: str, policy: AddressPolicy) -> str:
    """Check a URL given as input (CLI, API, OPML): scheme, host and every resolved address.

    Returns the normalised URL. Raises UnsafeURLError when refused, and FetchError with
    kind ``dns`` when the host does not resolve now (the caller decides whether to accept).
    """
    normal = check_url(url)
    parts = urlsplit(normal)
    host = parts.hostname or ""
    addresses = resolve(host, parts.port or _default_port(parts.scheme))
    check_addresses(host, addresses, policy, url=normal)
    return normal


def _host_port(normal: str) -> tuple[str, int]:
    parts = urlsplit(normal)
    return parts.hostname or "", parts.port or _default_port(parts.scheme)


def _lookup(host_port: tuple[str, int]) -> list[str] | FetchError:
    try:
        return resolve(*host_port)
    except FetchError as exc:
        return exc


def check_feed_urls(
    urls: Sequence[str],
    policy: AddressPolicy,
    *,
    concurrency: int = 16,
    timeout: float | None = None,
) -> list[str | FeedError]:
    """check_feed_url for many URLs: each host resolved once, `concurrency` at a time.

    Returns, in input order, each normalised URL or the error check_feed_url would raise
    for it (FetchError kind ``dns`` for a host that does not resolve now). One lookup
    after another made a 100,000-outline OPML file take longer than anyone waits. A
    host not resolved within `timeout` seconds of the call counts as not resolving now
    (getaddrinfo cannot be interrupted: its thread finishes on its own).
    """
    checked: list[str | FeedError] = []
    for url in urls:
        try:
            checked.append(check_url(url))
        except FeedError as exc:
            checked.append(exc)
        except ValueError as exc:  # urlsplit on a malformed host, e.g. "http://[::1/"
            checked.append(UnsafeURLError(f"{url!r} is not a valid URL: {exc}", url=url))
    hosts = list(dict.fromkeys(_host_port(c) for c in checked if isinstance(c, str)))
    # Address literals need no lookup (nor a thread).
    resolved: dict[tuple[str, int], list[str] | FetchError] = {
        h: [str(ip)] for h in hosts if (ip := ip_literal(h[0])) is not None
    }
    hosts = [h for h in hosts if h not in resolved]
    if hosts:
        pool = ThreadPoolExecutor(
            max_workers=max(1, min(concurrency, len(hosts))), thread_name_prefix="dns"
        )
        futures = {host: pool.submit(_lookup, host) for host in hosts}
        wait(futures.values(), timeout=timeout)
        pool.shutdown(wait=False, cancel_futures=True)
        for host, future in futures.items():
            if future.done() and not future.cancelled():
                resolved[host] = future.result()
            else:
                resolved[host] = FetchError(
                    f"cannot resolve host {host[0]}: no answer within {timeout:g}s", kind="dns"
                )
    out: list[str | FeedError] = []
    for item in checked:
        if not isinstance(item, str):
            out.append(item)
            continue
        host_port = _host_port(item)
        addresses = resolved[host_port]
        try:
            if isinstance(addresses, FetchError):
                raise FetchError(str(addresses), url=item, kind="dns")
            check_addresses(host_port[0], addresses, policy, url=item)
        except FeedError as exc:
            out.append(exc)
        else:
            out.append(item)
    return out
