"""The HTTP server itself: its own errors are JSON with the security headers, and slow clients cost no thread.

Run against the real gunicorn server of ``gunicorn.conf.py`` (one worker, four threads: the
hardest case), over raw sockets so that malformed requests reach it exactly as written.
"""
from __future__ import annotations

import io
import json
import socket
import threading
import time

import pytest
from gunicorn.http.errors import InvalidChunkSize
from werkzeug.test import EnvironBuilder, run_wsgi_app

from aimusic.web.errors import SECURITY_HEADERS
from aimusic.web.server import MAX_PENDING_PER_CLIENT, REQUEST_READ_TIMEOUT_S

HEALTH_BOUND_S = 1.0   # /health must answer within a second whatever slow clients do


def exchange(server, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``timeout``)."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_all(sock, timeout)


def read_all(sock: socket.socket, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not data:
            break
        out += data
    return out


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_json_error(raw: bytes, status: int, code: str) -> dict:
    got, headers, body = parse(raw)
    assert got == status, raw[:300]
    assert headers["content-type"] == "application/json; charset=utf-8"
    for name, value in SECURITY_HEADERS.items():
        assert headers[name.lower()] == value
    error = json.loads(body[: int(headers["content-length"])])["error"]
    assert error["code"] == code and error["message"] and error["request_id"]
    return error


MALFORMED = [
    ("bad chunk size", b"POST /api/generate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "invalid_request"),
    ("bad Content-Length", b"POST /api/generate HTTP/1.1\r\nHost: t\r\nContent-Length: 12x\r\n\r\n", 400,
     "invalid_request"),
    ("negative Content-Length", b"POST /api/generate HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400,
     "invalid_request"),
    ("9 KB request line", b"GET /" + b"a" * 9 * 1024 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, "invalid_request"),
    ("9 KB header", b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9 * 1024 + b"\r\n\r\n", 431,
     "invalid_request"),
    ("200 headers", b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
     + b"\r\n", 431, "invalid_request"),
    ("not HTTP", b"\x16\x03\x01\x02\x00hello\r\n\r\n", 400, "invalid_request"),
    ("bad method", b"G(T /health HTTP/1.1\r\nHost: t\r\n\r\n", 400, "invalid_request"),
    ("bad version", b"GET /health HTTP/7.1\r\nHost: t\r\n\r\n", 400, "invalid_request"),
    ("space before colon", b"GET /health HTTP/1.1\r\nHost : t\r\n\r\n", 400, "invalid_request"),
    ("length and chunked", b"POST /api/generate HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "invalid_request"),
]


@pytest.mark.parametrize(("name", "data", "status", "code"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_the_servers_own_errors_are_json_with_security_headers(server, name, data, status, code):
    assert_json_error(exchange(server, data), status, code)


def test_the_server_still_serves_after_malformed_requests(server):
    for _, data, _, _ in MALFORMED:
        exchange(server, data)
    assert server.get("/health").status == 200


def test_a_malformed_body_met_by_the_app_is_400_not_500(app):
    class BadChunks(io.BytesIO):   # what gunicorn's body reader raises on "zz" as a chunk size
        def read(self, size: int | None = -1) -> bytes:
            raise InvalidChunkSize(b"zz")

        def readinto(self, buffer) -> int:
            raise InvalidChunkSize(b"zz")

        readline = read

    environ = EnvironBuilder("/api/generate", method="POST", content_type="application/json",
                             headers={"Transfer-Encoding": "chunked"}).get_environ()
    environ.update({"wsgi.input": BadChunks(), "wsgi.input_terminated": True})
    environ.pop("CONTENT_LENGTH", None)
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("400 ")
    assert json.loads(b"".join(body))["error"]["code"] == "invalid_request"
    assert headers["Connection"] == "close"


def test_pipelined_and_expect_100_requests_are_served(server):
    raw = exchange(server, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
                           b"GET /api/styles HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"{}")
        raw = read_all(sock, 10)
    assert raw.count(b"100 Continue") == 0
    assert parse(raw)[0] == 400


def probe_health(server) -> float:
    started = time.monotonic()
    response = server.request("GET", "/health", timeout=HEALTH_BOUND_S)
    assert response.status == 200
    return time.monotonic() - started


def slow_connection(server, kind: str) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    if kind == "body":
        sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")
    else:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
    return sock


def test_slow_clients_never_stop_health_or_a_well_behaved_client(server):
    socks = [slow_connection(server, "body" if i % 2 else "header") for i in range(32)]
    stop = threading.Event()

    def trickle() -> None:   # a byte every 3 s on each: never enough to finish, always enough to stay open
        while not stop.wait(3.0):
            for sock in socks:
                try:
                    sock.sendall(b" " if sock.fileno() % 2 else b"X")
                except OSError:
                    pass

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        times = []
        for _ in range(12):
            times.append(probe_health(server))
            time.sleep(0.5)
        made = server.post_json("/api/generate", {"style": "ambient", "duration": 1, "seed": 5})
        assert made.status == 201, made.body[:300]
        assert max(times) < HEALTH_BOUND_S
        # None of them is ever served, and each is answered 408 once its time is up.
        deadline = time.monotonic() + REQUEST_READ_TIMEOUT_S + 5
        for sock in socks:
            raw = read_all(sock, max(0.1, deadline - time.monotonic()))
            assert_json_error(raw, 408, "invalid_request")
    finally:
        stop.set()
        sender.join(5)
        for sock in socks:
            sock.close()


def test_one_client_cannot_fill_the_connection_table(server):
    socks = [slow_connection(server, "header") for _ in range(3 * MAX_PENDING_PER_CLIENT)]
    try:
        time.sleep(0.5)
        assert probe_health(server) < HEALTH_BOUND_S
        closed = 0
        for sock in socks[:MAX_PENDING_PER_CLIENT]:   # the oldest were closed to make room
            sock.settimeout(2)
            try:
                closed += sock.recv(10) == b""
            except (socket.timeout, ConnectionResetError):
                pass
        assert closed == MAX_PENDING_PER_CLIENT
    finally:
        for sock in socks:
            sock.close()
