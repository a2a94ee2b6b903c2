"""Address safety: http(s) only, and no private, loopback, link-local or metadata targets."""

from __future__ import annotations

import ipaddress

import pytest

from feeds.addresses import (
    AddressPolicy,
    check_addresses,
    check_feed_url,
    check_feed_urls,
    check_url,
    unsafe_reason,
)
from feeds.errors import FetchError, UnsafeURLError

UNSAFE = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "metadata",
    "169.254.1.1": "link-local",
    "0.0.0.0": "unspecified",
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "100.64.0.1": "carrier-grade",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd00:ec2::254": "metadata",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "metadata",
    "::127.0.0.1": "loopback",
    "2002:7f00:1::1": "loopback",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a00:1": "private",  # NAT64 wrapping 10.0.0.1
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "reason"), sorted(UNSAFE.items()))
def test_non_public_addresses_are_unsafe_with_a_reason(address: str, reason: str) -> None:
    found = unsafe_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_safe(address: str) -> None:
    assert unsafe_reason(ipaddress.ip_address(address)) is None


def test_one_unsafe_address_among_several_refuses_the_host() -> None:
    with pytest.raises(UnsafeURLError, match="10.0.0.7, a private address"):
        check_addresses("news.example.org", ["93.184.216.34", "10.0.0.7"], AddressPolicy())
    assert check_addresses("news.example.org", ["93.184.216.34"], AddressPolicy())


def test_allowed_networks_and_allow_private_widen_the_policy() -> None:
    only_one = AddressPolicy.build(allow_private=False, allowed_networks=["127.0.0.1/32"])
    assert only_one.allows(ipaddress.ip_address("127.0.0.1"))
    assert not only_one.allows(ipaddress.ip_address("127.0.0.2"))
    assert not only_one.allows(ipaddress.ip_address("169.254.169.254"))
    everything = AddressPolicy(allow_private=True)
    assert everything.allows(ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/hostname",
        "feeds/local.xml",
        "ftp://example.org/feed",
        "javascript:alert(1)",
        "http://",
        "http:///path",
        "gopher://example.org/",
    ],
)
def test_only_http_and_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url(url)


def test_urls_are_normalised() -> None:
    assert (
        check_url("  HTTPS://News.Example.ORG/Feed?x=1#top ") == "https://news.example.org/Feed?x=1"
    )
    assert check_url("http://example.org") == "http://example.org/"


def test_input_urls_that_resolve_to_loopback_are_refused_by_default() -> None:
    for url in (
        "http://localhost/feed",
        "http://127.0.0.1:8080/feed",
        "http://[::1]/feed",
        "http://169.254.169.254/latest",
    ):
        with pytest.raises(UnsafeURLError, match="refused"):
            check_feed_url(url, AddressPolicy())
    allowed = AddressPolicy.build(allow_private=False, allowed_networks=["127.0.0.0/8"])
    assert check_feed_url("http://LOCALHOST:8080/feed", allowed) == "http://localhost:8080/feed"


def test_an_unresolvable_input_url_is_a_dns_error_for_the_caller_to_judge() -> None:
    with pytest.raises(FetchError) as info:
        check_feed_url("http://no-such-host.invalid/feed", AddressPolicy())
    assert info.value.kind == "dns"


def test_many_urls_are_checked_as_one_url_is_each_host_resolved_once() -> None:
    urls = [
        "https://93.184.216.34/rss",
        "HTTP://LOCALHOST/feed",
        "http://localhost/other",
        "http://10.1.2.3/rss",
        "file:///etc/passwd",
        "https://news.example.invalid/rss",
        "https://news.example.invalid/other",
        "http://[::1/",
    ]
    policy = AddressPolicy.build(allow_private=False)
    got = check_feed_urls(urls, policy, concurrency=3)
    assert len(got) == len(urls)
    for url, outcome in zip(urls[:-1], got, strict=False):
        try:
            assert outcome == check_feed_url(url, policy)
        except FetchError as exc:
            assert isinstance(outcome, FetchError)
            assert (type(outcome), outcome.kind, str(outcome)) == (type(exc), exc.kind, str(exc))
    assert isinstance(got[-1], UnsafeURLError) and "not a valid URL" in str(got[-1])
    assert check_feed_urls([], policy) == []


def test_hosts_not_answered_in_time_count_as_not_resolving_now() -> None:
    """A slow name server cannot hold up a large import: past the time allowed, a host
    is a `dns` error (the caller adds it with a note), literals need no lookup at all."""
    policy = AddressPolicy.build(allow_private=False)
    urls = [f"https://h{i}.example.invalid/rss" for i in range(40)] + ["https://1.1.1.1/rss"]
    got = check_feed_urls(urls, policy, concurrency=2, timeout=0)
    assert got[-1] == "https://1.1.1.1/rss"
    for outcome in got[:-1]:
        assert isinstance(outcome, FetchError) and outcome.kind == "dns"
    assert any("no answer within 0s" in str(o) for o in got[:-1])
