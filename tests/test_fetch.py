"""authorizers.fetch: the URL policy, and HttpJsonFetcher against a misbehaving key server.

Every failure must be a KeySourceUnavailable, and none may take much longer than the
fetcher's 2 s deadline. The timing bounds below are "did not hang" checks, deliberately
generous for noisy machines, not speed measurements.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authorizers.errors import ConfigurationError, KeySourceUnavailable
from authorizers.fetch import DEFAULT_MAX_BYTES, HttpJsonFetcher, check_url, is_loopback
from tests.keyserver import KeyServer

DID_NOT_HANG = 4.0  # seconds; the fetcher's own deadline is 2 s
DOCUMENT = {"keys": [{"kid": "k1", "kty": "RSA"}], "note": "served"}


@pytest.fixture
def server() -> Iterator[KeyServer]:
    with KeyServer() as running:
        yield running


@pytest.fixture(scope="module")
def fetcher() -> HttpJsonFetcher:
    return HttpJsonFetcher()


def timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """The exception ``call`` raised (None if it returned) and how long it took."""
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def json_of_size(size: int) -> bytes:
    """A valid JSON object of exactly ``size`` bytes."""
    frame = b'{"keys": [], "pad": ""}'
    body = frame[:-2] + b"a" * (size - len(frame)) + frame[-2:]
    assert len(body) == size
    return body


# --- URL policy --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://issuer.example.com/.well-known/jwks.json",
        "https://issuer.example.com:8443/jwks",
        "HTTPS://issuer.example.com/jwks",
        "https://10.0.0.1/jwks",  # https to any host: TLS is what protects it
        "http://127.0.0.1:8080/jwks.json",
        "http://127.0.0.2/jwks.json",  # all of 127.0.0.0/8 is loopback
        "http://[::1]:8080/jwks.json",
        "http://localhost/jwks.json",
        "http://LocalHost:9000/jwks.json",
        "http://localhost.localdomain/jwks.json",
    ],
)
def test_url_policy_accepts_https_and_loopback_http(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://0.0.0.0:8080/jwks.json",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost.example.com/jwks.json",
        "http://127.0.0.1.nip.io/jwks.json",
        "http://[::2]/jwks.json",
    ],
)
def test_url_policy_refuses_plain_http_to_other_hosts(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        check_url(url, "JWKS URI")


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@issuer.example.com/jwks.json",
        "https://user@issuer.example.com/jwks.json",
        "https://@issuer.example.com/jwks.json",
        "http://user:pw@127.0.0.1/jwks.json",
        "https:///jwks.json",
        "/jwks.json",
        "jwks.json",
        "",
    ],
)
def test_url_policy_refuses_credentials_and_relative_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="absolute URL without credentials"):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://issuer.example.com/jwks.json",
        "ftp://127.0.0.1/jwks.json",
        "file://localhost/etc/passwd",
        "gopher://127.0.0.1:70/",
        "ws://127.0.0.1/jwks",
    ],
)
def test_url_policy_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://issuer.example.com:99999/jwks", "https://issuer.example.com:-1/jwks", "http://127.0.0.1:port/jwks"],
)
def test_url_policy_refuses_a_bad_port(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        check_url(url)


def test_url_policy_names_what_it_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"^issuer discovery URL 'http://example\.com/x'"):
        check_url("http://example.com/x", "issuer discovery URL")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("example.com", False), ("10.0.0.1", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_fetch_applies_the_url_policy_before_any_request(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    server.serve_json("/jwks.json", DOCUMENT)
    credentialed = server.url("/jwks.json").replace("http://", "http://user:pw@")
    with pytest.raises(KeySourceUnavailable, match="without credentials"):
        fetcher.fetch_json(credentialed)
    with pytest.raises(KeySourceUnavailable, match="must use https"):
        fetcher.fetch_json("http://example.com/jwks.json")
    assert server.total_requests() == 0


# --- timeouts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("connect", "read"), [(1.0, 1.0), (0.8, 1.2), (0.1, 0.1), (1.9, 0.1)])
def test_timeouts_adding_up_to_two_seconds_are_accepted(connect: float, read: float) -> None:
    HttpJsonFetcher(connect_timeout=connect, read_timeout=read)


@pytest.mark.parametrize(("connect", "read"), [(1.0, 1.01), (0.8, 1.3), (2.0, 0.5), (0.0, 1.0), (1.0, 0.0), (-1, 2)])
def test_timeouts_over_two_seconds_or_not_positive_are_refused(connect: float, read: float) -> None:
    with pytest.raises(ConfigurationError, match="add up to at most 2 s"):
        HttpJsonFetcher(connect_timeout=connect, read_timeout=read)


# --- answers ------------------------------------------------------------------------------------------


def test_fetches_a_json_document(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    server.serve_json("/jwks.json", DOCUMENT)
    assert fetcher.fetch_json(server.url("/jwks.json")) == DOCUMENT
    assert fetcher.fetch_json(server.url("/jwks.json")) == DOCUMENT
    assert server.requests("/jwks.json") == 2


def test_returns_any_json_value_leaving_its_shape_to_the_caller(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    server.serve_json("/list.json", [1, 2, 3])
    assert fetcher.fetch_json(server.url("/list.json")) == [1, 2, 3]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused_and_never_followed(fetcher: HttpJsonFetcher, server: KeyServer, status: int) -> None:
    server.serve_json("/elsewhere.json", DOCUMENT)
    server.redirect("/jwks.json", server.url("/elsewhere.json"), status=status)
    with pytest.raises(KeySourceUnavailable, match=f"HTTP {status}"):
        fetcher.fetch_json(server.url("/jwks.json"))
    assert server.requests("/jwks.json") == 1
    assert server.requests("/elsewhere.json") == 0


@pytest.mark.parametrize("status", [201, 204, 206, 304, 400, 401, 403, 404, 429, 500, 502, 503])
def test_any_status_but_200_is_refused(fetcher: HttpJsonFetcher, server: KeyServer, status: int) -> None:
    # A valid document in the body does not make a non-200 answer usable.
    body = b"" if status in (204, 304) else json.dumps(DOCUMENT).encode()
    server.serve_status("/jwks.json", status, body=body)
    with pytest.raises(KeySourceUnavailable, match=f"HTTP {status}"):
        fetcher.fetch_json(server.url("/jwks.json"))


def test_an_unknown_path_is_refused(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    with pytest.raises(KeySourceUnavailable, match="HTTP 404"):
        fetcher.fetch_json(server.url("/nothing-here.json"))
    assert server.requests("/nothing-here.json") == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><body>Service Unavailable</body></html>", id="html"),
        pytest.param(b'{"keys": [', id="truncated"),
        pytest.param(b'{"keys": []}{"keys": []}', id="two-documents"),
        pytest.param(b'\xff\xfe{"keys": []}', id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
    ],
)
def test_garbage_is_refused(fetcher: HttpJsonFetcher, server: KeyServer, body: bytes) -> None:
    server.serve_body("/jwks.json", body)
    with pytest.raises(KeySourceUnavailable, match="not JSON"):
        fetcher.fetch_json(server.url("/jwks.json"))


# --- size cap -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "until-close"])
def test_a_body_of_exactly_the_cap_is_accepted(
    fetcher: HttpJsonFetcher, server: KeyServer, content_length: bool
) -> None:
    server.serve_body("/jwks.json", json_of_size(DEFAULT_MAX_BYTES), content_length=content_length)
    document = fetcher.fetch_json(server.url("/jwks.json"))
    assert isinstance(document, dict)
    assert len(document["pad"]) == DEFAULT_MAX_BYTES - len(b'{"keys": [], "pad": ""}')


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "until-close"])
def test_one_byte_over_the_cap_is_refused(fetcher: HttpJsonFetcher, server: KeyServer, content_length: bool) -> None:
    server.serve_body("/jwks.json", json_of_size(DEFAULT_MAX_BYTES + 1), content_length=content_length)
    with pytest.raises(KeySourceUnavailable, match=f"over {DEFAULT_MAX_BYTES} bytes"):
        fetcher.fetch_json(server.url("/jwks.json"))


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "until-close"])
def test_a_huge_body_is_refused_without_reading_it_all(
    fetcher: HttpJsonFetcher, server: KeyServer, content_length: bool
) -> None:
    server.serve_huge("/jwks.json", 64 * 1024 * 1024, content_length=content_length)
    error, elapsed = timed(lambda: fetcher.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert f"over {DEFAULT_MAX_BYTES} bytes" in str(error)
    assert elapsed < DID_NOT_HANG


def test_a_declared_length_over_the_cap_is_refused_before_the_body(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    # The server promises a huge body but sends only a small valid one: the promise is enough to refuse.
    server.serve_body(
        "/jwks.json", b'{"keys": []}', content_length=False, headers={"Content-Length": str(DEFAULT_MAX_BYTES + 1)}
    )
    error, elapsed = timed(lambda: fetcher.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert f"over {DEFAULT_MAX_BYTES} bytes" in str(error)
    assert elapsed < DID_NOT_HANG


def test_a_gzip_body_is_decoded(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    server.serve_gzip("/jwks.json", json.dumps(DOCUMENT).encode())
    assert fetcher.fetch_json(server.url("/jwks.json")) == DOCUMENT


def test_the_cap_applies_to_the_decoded_size_of_a_gzip_body(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    expanded = json_of_size(DEFAULT_MAX_BYTES + 1)
    server.serve_gzip("/jwks.json", expanded)
    with pytest.raises(KeySourceUnavailable, match=f"over {DEFAULT_MAX_BYTES} bytes"):
        fetcher.fetch_json(server.url("/jwks.json"))


def gzip_bomb(expanded_mib: int) -> bytes:
    """A gzip stream of a JSON object with ``expanded_mib`` MiB of padding, built piece by piece."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    pieces = [compressor.compress(b'{"keys": [], "pad": "')]
    mebibyte = b"a" * (1024 * 1024)
    pieces += [compressor.compress(mebibyte) for _ in range(expanded_mib)]
    pieces.append(compressor.compress(b'"}') + compressor.flush())
    return b"".join(pieces)


def test_a_gzip_bomb_is_refused(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    bomb = gzip_bomb(64)  # 64 MiB expanded, about 64 KiB on the wire: under the cap as sent
    assert len(bomb) < DEFAULT_MAX_BYTES
    server.serve_body("/jwks.json", bomb, headers={"Content-Encoding": "gzip"})
    error, elapsed = timed(lambda: fetcher.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert f"over {DEFAULT_MAX_BYTES} bytes" in str(error)
    assert elapsed < DID_NOT_HANG


def test_a_smaller_cap_is_honoured(server: KeyServer) -> None:
    small = HttpJsonFetcher(max_bytes=1024)
    server.serve_body("/ok.json", json_of_size(1024))
    server.serve_body("/big.json", json_of_size(1025), content_length=False)
    assert isinstance(small.fetch_json(server.url("/ok.json")), dict)
    with pytest.raises(KeySourceUnavailable, match="over 1024 bytes"):
        small.fetch_json(server.url("/big.json"))


# --- slow and absent servers ---------------------------------------------------------------------------


def test_slow_headers_give_up_after_the_read_timeout(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    server.serve_json("/jwks.json", DOCUMENT, delay=10)
    error, elapsed = timed(lambda: fetcher.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert "Timeout" in str(error)
    assert elapsed < DID_NOT_HANG


def test_a_dripping_body_is_cut_off_at_the_deadline(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    # Each byte arrives well within the read timeout; only an overall deadline ends this.
    body = json.dumps(DOCUMENT).encode() + b" " * 200
    server.drip_body("/jwks.json", body, interval=0.05)
    error, elapsed = timed(lambda: fetcher.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert "took over 2.0 s" in str(error)
    assert elapsed < DID_NOT_HANG


def test_dripping_headers_are_cut_off_at_the_deadline(server: KeyServer) -> None:
    quick = HttpJsonFetcher(connect_timeout=0.2, read_timeout=0.3)  # same mechanism, shorter wait
    server.drip_headers("/jwks.json", interval=0.05)
    error, elapsed = timed(lambda: quick.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert "took over 0.5 s" in str(error)
    assert elapsed < DID_NOT_HANG


def test_a_dripping_body_on_a_reused_connection_is_cut_off_too() -> None:
    quick = HttpJsonFetcher(connect_timeout=0.2, read_timeout=0.3)
    with KeyServer(keep_alive=True) as server:
        server.serve_json("/jwks.json", DOCUMENT)
        assert quick.fetch_json(server.url("/jwks.json")) == DOCUMENT
        server.drip_body("/jwks.json", json.dumps(DOCUMENT).encode() + b" " * 200, interval=0.05)
        error, elapsed = timed(lambda: quick.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert "took over 0.5 s" in str(error)
    assert elapsed < DID_NOT_HANG


def test_https_is_fetched_and_a_dripping_https_body_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = HttpJsonFetcher(connect_timeout=0.2, read_timeout=0.3)
    with KeyServer(tls=True) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
        server.serve_json("/jwks.json", DOCUMENT)
        assert server.url("/jwks.json").startswith("https://127.0.0.1:")
        assert quick.fetch_json(server.url("/jwks.json")) == DOCUMENT
        server.drip_body("/jwks.json", json.dumps(DOCUMENT).encode() + b" " * 200, interval=0.05)
        error, elapsed = timed(lambda: quick.fetch_json(server.url("/jwks.json")))
    assert isinstance(error, KeySourceUnavailable)
    assert "took over 0.5 s" in str(error)
    assert elapsed < DID_NOT_HANG


def test_a_dripping_answer_through_an_http_proxy_is_cut_off_too(
    server: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key server plays a forwarding proxy: it sees the absolute URL as the request path.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    quick = HttpJsonFetcher(connect_timeout=0.2, read_timeout=0.3)
    target = "http://127.0.0.1:9/jwks.json"  # nothing listens there: only the proxy answers
    server.serve_json(target, DOCUMENT)
    assert quick.fetch_json(target) == DOCUMENT
    server.drip_body(target, json.dumps(DOCUMENT).encode() + b" " * 200, interval=0.05)
    error, elapsed = timed(lambda: quick.fetch_json(target))
    assert isinstance(error, KeySourceUnavailable)
    assert "took over 0.5 s" in str(error)
    assert elapsed < DID_NOT_HANG
    assert server.requests(target) == 2


def test_an_untrusted_certificate_is_refused() -> None:
    with KeyServer(tls=True) as tls_server:
        tls_server.serve_json("/jwks.json", DOCUMENT)
        with pytest.raises(KeySourceUnavailable, match="SSLError"):
            HttpJsonFetcher().fetch_json(tls_server.url("/jwks.json"))


def test_a_server_that_is_down_fails_fast(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    server.serve_json("/jwks.json", DOCUMENT)
    url = server.url("/jwks.json")
    server.down()
    error, elapsed = timed(lambda: fetcher.fetch_json(url))
    assert isinstance(error, KeySourceUnavailable)
    assert "ConnectionError" in str(error)
    assert elapsed < 2.0
    server.up()
    assert fetcher.fetch_json(url) == DOCUMENT


def test_the_fetcher_works_again_after_a_deadline_cut(fetcher: HttpJsonFetcher, server: KeyServer) -> None:
    quick = HttpJsonFetcher(connect_timeout=0.2, read_timeout=0.3)
    server.drip_body("/slow.json", b" " * 100, interval=0.05)
    server.serve_json("/jwks.json", DOCUMENT)
    with pytest.raises(KeySourceUnavailable, match="took over"):
        quick.fetch_json(server.url("/slow.json"))
    assert quick.fetch_json(server.url("/jwks.json")) == DOCUMENT
