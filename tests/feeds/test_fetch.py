"""Fetching against a real HTTP server on 127.0.0.1: limits, caps, redirects, validators."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from feeds.addresses import AddressPolicy
from feeds.fetch import Fetcher, FetchOptions, FetchResult, fetch_url
from tests.feeds.conftest import fast_options
from tests.feeds.feedserver import FeedServer, Reply, Request, gzip_bomb, http_date, simple_feed

FEED = simple_feed("fetch")


def fetch(url: str, options: FetchOptions, **kw: str) -> FetchResult:
    return asyncio.run(fetch_url(url, options=options, **kw))  # type: ignore[arg-type]


def test_a_feed_is_fetched_with_a_user_agent_naming_the_tool(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/feed", Reply(body=FEED, etag='"v1"'))
    result = fetch(url, options)
    assert result.ok and result.status == 200
    assert result.content == FEED
    assert result.etag == '"v1"'
    sent = feed_server.hits("/feed")[0].headers
    assert sent["user-agent"].startswith("pledgewatch/") and "https://" in sent["user-agent"]
    # Only encodings whose decoded size can be capped are advertised.
    assert sent["accept-encoding"] == "gzip, deflate"


def test_stored_validators_are_sent_and_a_304_is_not_modified_not_an_error(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    modified = http_date(datetime(2024, 6, 3, tzinfo=UTC))
    url = feed_server.route("/feed", Reply(body=FEED, etag='"v1"', last_modified=modified))
    result = fetch(url, options, etag='"v1"', last_modified=modified)
    sent = feed_server.hits("/feed")[0].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == modified
    assert result.ok and result.not_modified and result.status == 304
    assert result.content == b""


def test_a_304_to_a_request_without_validators_is_an_error_not_a_success(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/feed", Reply(status=304))
    result = fetch(url, options)
    assert "if-none-match" not in feed_server.hits("/feed")[0].headers
    assert not result.not_modified
    assert result.error_kind == "bad_response"
    assert "304 Not Modified" in (result.error or "")
    assert "without an ETag or Last-Modified" in (result.error or "")


def test_a_server_that_stalls_after_the_headers_times_out(feed_server: FeedServer) -> None:
    url = feed_server.route("/stall", Reply(body=FEED, stall=30))
    options = fast_options(read_timeout=0.5, total_timeout=5.0)
    t0 = time.monotonic()
    result = fetch(url, options)
    assert result.error_kind == "timeout"
    assert "0.5s" in (result.error or "")
    assert time.monotonic() - t0 < 2.0


def test_a_slow_drip_is_cut_off_by_the_wall_clock_deadline(feed_server: FeedServer) -> None:
    # One byte every 0.2 s never trips the 1 s read timeout; only the deadline ends it.
    url = feed_server.route("/drip", Reply(body=FEED, drip=0.2))
    options = fast_options(read_timeout=1.0, total_timeout=1.5)
    t0 = time.monotonic()
    result = fetch(url, options)
    elapsed = time.monotonic() - t0
    assert result.error_kind == "timeout"
    assert "total_timeout" in (result.error or "")
    assert 1.4 <= elapsed < 1.5 + 1.0


def test_a_connection_reset_is_a_connection_error(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/reset", Reply(body=FEED, reset=True))
    result = fetch(url, options)
    assert result.error_kind == "connection"
    assert result.content == b""


def test_a_refused_connection_is_a_connection_error(options: FetchOptions) -> None:
    sock_server = FeedServer().start()
    url = sock_server.url("/feed")
    sock_server.stop()
    result = fetch(url, options)
    assert result.error_kind == "connection"


def test_an_unresolvable_host_is_a_dns_error(options: FetchOptions) -> None:
    result = fetch("http://no-such-host.invalid/feed", options)
    assert result.error_kind == "dns"


@pytest.mark.parametrize("status", [404, 500, 502, 403])
def test_http_errors_carry_their_status(
    feed_server: FeedServer, options: FetchOptions, status: int
) -> None:
    url = feed_server.route("/err", Reply(status=status, body=b"no"))
    result = fetch(url, options)
    assert result.error_kind == f"http_{status}"
    assert result.status == status
    assert str(status) in (result.error or "")


def test_429_retry_after_in_seconds_is_reported(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/busy", Reply(status=429, headers={"Retry-After": "120"}))
    result = fetch(url, options)
    assert result.error_kind == "http_429"
    assert result.retry_after == 120


def test_503_retry_after_as_an_http_date_is_reported(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    when = datetime.now(UTC) + timedelta(hours=2)
    url = feed_server.route("/down", Reply(status=503, headers={"Retry-After": http_date(when)}))
    result = fetch(url, options)
    assert result.error_kind == "http_503"
    assert result.retry_after is not None
    assert 7190 <= result.retry_after <= 7200


@pytest.mark.parametrize(
    "value",
    ["\u00b2", "9" * 400, "9" * 5000],
    ids=["superscript-two", "400-digits", "5000-digits"],
)
def test_a_retry_after_no_number_type_can_hold_is_a_429_not_a_crash(
    feed_server: FeedServer, options: FetchOptions, value: str
) -> None:
    # str.isdigit() accepts "²" (int() does not); float() refuses 309 digits, int() 4,301.
    url = feed_server.route("/busy", Reply(status=429, headers={"Retry-After": value}))
    result = fetch(url, options)
    assert result.error_kind == "http_429"
    assert result.retry_after in (None, 1_000_000_000)


def test_410_is_reported_as_gone(feed_server: FeedServer, options: FetchOptions) -> None:
    url = feed_server.route("/gone", Reply(status=410))
    result = fetch(url, options)
    assert result.error_kind == "gone"


def test_a_redirect_loop_ends_with_a_clear_error(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    feed_server.route("/a", Reply(status=302, headers={"Location": "/b"}))
    url = feed_server.route("/b", Reply(status=302, headers={"Location": "/a"}))
    result = fetch(url, options)
    assert result.error_kind == "redirect_loop"
    assert "already visited" in (result.error or "")
    assert len(feed_server.requests) == 2


def test_five_redirects_are_followed_and_a_sixth_is_refused(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    for i in range(6):
        feed_server.route(f"/r{i}", Reply(status=307, headers={"Location": f"/r{i + 1}"}))
    feed_server.route("/r6", Reply(body=FEED))
    ok = fetch(feed_server.url("/r1"), options)
    assert ok.ok and ok.content == FEED and ok.final_url.endswith("/r6")
    too_many = fetch(feed_server.url("/r0"), options)
    assert too_many.error_kind == "redirect_loop"
    assert "more than 5 redirects" in (too_many.error or "")


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml"])
def test_a_redirect_to_another_scheme_is_refused(
    feed_server: FeedServer, options: FetchOptions, target: str
) -> None:
    url = feed_server.route("/jump", Reply(status=302, headers={"Location": target}))
    result = fetch(url, options)
    assert result.error_kind == "unsafe_url"
    assert "redirect refused" in (result.error or "")
    assert result.content == b""


@pytest.mark.parametrize("location", ["http://[::1/feed", "//[::1/feed"])
def test_a_redirect_to_a_location_that_is_no_url_is_refused_not_a_crash(
    feed_server: FeedServer, options: FetchOptions, location: str
) -> None:
    url = feed_server.route("/r", Reply(status=302, headers={"Location": location}))
    result = fetch(url, options)
    assert result.error_kind == "unsafe_url"
    assert result.error == f"redirect refused: Location {location!r} is not a valid URL"


def test_a_permanent_redirect_reports_its_target_and_a_temporary_one_does_not(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    feed_server.route("/new", Reply(body=FEED))
    for code in (301, 308):
        feed_server.route(f"/moved{code}", Reply(status=code, headers={"Location": "/new"}))
        result = fetch(feed_server.url(f"/moved{code}"), options)
        assert result.ok and result.permanent_redirect == feed_server.url("/new")
    for code in (302, 307):
        feed_server.route(f"/temp{code}", Reply(status=code, headers={"Location": "/new"}))
        result = fetch(feed_server.url(f"/temp{code}"), options)
        assert result.ok and result.permanent_redirect is None


def test_a_permanent_redirect_after_a_temporary_one_does_not_count(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    feed_server.route("/new", Reply(body=FEED))
    feed_server.route("/mid", Reply(status=301, headers={"Location": "/new"}))
    url = feed_server.route("/start", Reply(status=302, headers={"Location": "/mid"}))
    assert fetch(url, options).permanent_redirect is None


def test_a_permanent_redirect_to_an_error_is_not_reported(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/moved", Reply(status=301, headers={"Location": "/missing"}))
    result = fetch(url, options)
    assert result.error_kind == "http_404" and result.permanent_redirect is None


def test_a_declared_50_mb_body_is_refused_before_reading(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/huge", Reply(body=b"", content_length=50_000_000, stall=10))
    t0 = time.monotonic()
    result = fetch(url, options)
    assert result.error_kind == "too_large"
    assert "Content-Length 50000000" in (result.error or "")
    assert time.monotonic() - t0 < 1.0


def test_a_50_mb_body_without_a_length_stops_at_the_cap(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    sent = []

    def stream() -> object:
        for _ in range(50 * 16):
            sent.append(1)
            yield b"x" * 65536

    url = feed_server.route("/stream", Reply(chunks=stream()))  # type: ignore[arg-type]
    result = fetch(url, options)
    assert result.error_kind == "too_large"
    assert "1000000 byte cap" in (result.error or "")
    # The client stopped reading long before 50 MB were sent.
    assert len(sent) * 65536 < 10_000_000


def test_a_gzip_bomb_stops_at_the_cap_quickly_with_bounded_memory(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    bomb = gzip_bomb(100_000_000)
    url = feed_server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        result = fetch(url, options)
        elapsed = time.monotonic() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "too_large"
    assert elapsed < 1.0
    # The cap is 1 MB: nothing near the 100 MB the bomb inflates to was held.
    assert peak < 8_000_000


def test_gzip_and_deflate_bodies_are_decoded(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    bodies = {
        "/gzip": (gzip.compress(FEED), "gzip"),
        "/zlib": (zlib.compress(FEED), "deflate"),
        "/raw": (raw_deflate.compress(FEED) + raw_deflate.flush(), "deflate"),
    }
    for path, (body, coding) in bodies.items():
        url = feed_server.route(path, Reply(body=body, headers={"Content-Encoding": coding}))
        result = fetch(url, options)
        assert result.ok, (path, result.error)
        assert result.content == FEED


def test_an_encoding_whose_size_cannot_be_capped_is_refused(
    feed_server: FeedServer, options: FetchOptions
) -> None:
    url = feed_server.route("/br", Reply(body=b"\x1b\x00", headers={"Content-Encoding": "br"}))
    result = fetch(url, options)
    assert result.error_kind == "unsupported_encoding"


def test_corrupt_gzip_is_an_encoding_error(feed_server: FeedServer, options: FetchOptions) -> None:
    url = feed_server.route(
        "/bad", Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    )
    assert fetch(url, options).error_kind == "bad_encoding"


@pytest.mark.parametrize("url", ["file:///etc/hostname", "/etc/hostname", "ftp://example.org/f"])
def test_local_files_and_other_schemes_are_refused_at_fetch(
    options: FetchOptions, url: str
) -> None:
    result = fetch(url, options)
    assert result.error_kind == "unsafe_url"
    assert result.content == b""


def test_loopback_is_refused_unless_allowed_and_nothing_is_requested(
    feed_server: FeedServer,
) -> None:
    url = feed_server.route("/feed", Reply(body=FEED))
    refused = fetch(url, fast_options(policy=AddressPolicy()))
    assert refused.error_kind == "unsafe_url"
    assert "loopback" in (refused.error or "")
    assert feed_server.requests == []
    allowed = fetch(url, fast_options(policy=AddressPolicy(allow_private=True)))
    assert allowed.ok and allowed.content == FEED


def test_a_name_that_resolves_to_loopback_is_refused_when_resolved(
    feed_server: FeedServer,
) -> None:
    # Not an IP literal: the connector's resolver checks what `localhost` resolves to.
    url = f"http://localhost:{feed_server.port}/feed"
    feed_server.route("/feed", Reply(body=FEED))
    refused = fetch(url, fast_options(policy=AddressPolicy()))
    assert refused.error_kind == "unsafe_url", refused.error
    assert "localhost resolves to" in (refused.error or "")
    assert "loopback" in (refused.error or "")
    assert feed_server.requests == []
    allowed = fetch(url, fast_options(policy=AddressPolicy(allow_private=True)))
    assert allowed.ok and allowed.content == FEED


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2/feed",
        "http://[::ffff:127.0.0.2]/feed",
        "http://10.0.0.1/feed",
        "http://[::1]/feed",
        # Legacy numeric forms that socket maps onto 127.0.0.1 or 127.0.0.2.
        "http://2130706433/feed",
        "http://127.2/feed",
        "http://0x7f.0.0.2/feed",
        "http://[::ffff:7f00:2]/feed",
    ],
)
def test_a_redirect_to_a_private_address_is_refused_at_that_hop(
    feed_server: FeedServer, options: FetchOptions, target: str
) -> None:
    # Only 127.0.0.1 is allowed (the test server); every other hop is checked again.
    url = feed_server.route("/jump", Reply(status=302, headers={"Location": target}))
    result = fetch(url, options)
    assert result.error_kind == "unsafe_url", result.error
    assert "refused" in (result.error or "")


def test_fetches_to_one_host_are_limited_to_the_per_host_setting(
    feed_server: FeedServer,
) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(_req: Request) -> Reply:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return Reply(body=FEED)

    for i in range(6):
        feed_server.route(f"/f{i}", slow)

    async def run(options: FetchOptions) -> list[FetchResult]:
        async with Fetcher(options) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(feed_server.url(f"/f{i}")) for i in range(6))
            )

    results = asyncio.run(run(fast_options(per_host=2)))
    assert all(r.ok for r in results)
    assert state["peak"] == 2
    state["peak"] = 0
    results = asyncio.run(run(fast_options(per_host=10, concurrency=3)))
    assert all(r.ok for r in results)
    assert state["peak"] == 3
