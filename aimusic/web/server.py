"""The gunicorn worker class of the service: whole requests first, then a thread; JSON for its own errors.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as it is readable, and the
thread then blocks reading the rest of the request: a client sending a byte every few seconds
holds a thread for as long as it likes, and a handful of such clients hold them all, so
``/health`` stops answering. :class:`BufferingWorker` instead reads every request in its event
loop, without blocking, into a buffer checked by h11 (a strict HTTP/1.1 parser), and gives a
connection to a thread only once its request is complete. A slow connection then costs a
buffer and a file descriptor, never a thread, and is bounded three ways:

- time: the whole request (head and body) must arrive within :data:`REQUEST_READ_TIMEOUT_S`
  (408 otherwise);
- size: a head may be as large as gunicorn's own limits allow, a body as large as the service
  accepts (:data:`aimusic.config.MAX_BODY_BYTES`) plus one byte, so a body too large is refused
  (413) from the buffer, without waiting for the rest;
- count: one client address may have at most :data:`MAX_PENDING_PER_CLIENT` requests being read
  per worker; a further one closes that client's oldest, so one client cannot fill the worker's
  connection table.

Every error the HTTP server answers itself, here or in gunicorn's parser (a malformed request
line, a bad ``Content-Length``, a request line over 8 KiB, too many headers), is the JSON error
body of API.md with the service's security headers, never gunicorn's HTML page.
"""
from __future__ import annotations

import errno
import json
import re
import selectors
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import h11
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from ..config import MAX_BODY_BYTES
from ..slots import generating
from .errors import HTTP_CODES, HTTP_MESSAGES, SECURITY_HEADERS

REQUEST_READ_TIMEOUT_S = 15.0  # the whole request, head and body (64 KiB at 4.4 KB/s)
MAX_PENDING_PER_CLIENT = 64
RECV_BYTES = 65536
BUSY_ACCEPT_DELAY_S = 0.002  # a generating worker leaves a new connection this long to an idle one

SERVER_MESSAGES = {
    **HTTP_MESSAGES,
    403: "request forbidden",
    408: "the request was not received in time",
    414: "request line is too long",
    417: "expectation failed",
    431: "request headers are too large or too many",
    501: "transfer coding not implemented",
}


def error_bytes(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 error response: the JSON error of API.md, security headers, ``Connection: close``."""
    if status >= 500:
        code = HTTP_CODES.get(status, "http_error")
    else:
        code = "payload_too_large" if status == 413 else "invalid_request"
    request_id = uuid.uuid4().hex
    body = json.dumps({"error": {"code": code, "message": message, "details": [],
                                 "request_id": request_id}}).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body)),
               "Connection": "close", "Cache-Control": "no-store", "X-Request-ID": request_id,
               **SECURITY_HEADERS}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


class _Captured:
    """Stands in for a client socket so gunicorn's ``handle_error`` can classify an error for us."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


@dataclass
class _Pending:
    """A request being read: the raw bytes so far and h11's view of them."""

    host: str
    deadline: float
    parser: h11.Connection
    raw: bytearray = field(default_factory=bytearray)
    body_bytes: int = 0
    continue_sent: bool = False
    registered: bool = False


def accept_delay() -> float:
    """How long this worker lets a new connection wait before taking it: :data:`BUSY_ACCEPT_DELAY_S` while it generates.

    Every worker's event loop wakes for a new connection and the first to accept it serves it.
    A worker generating a track would make a further one wait for its turn
    (:data:`aimusic.slots.PROCESS_TURN`) while another worker may be idle, so it lets the others go
    first: an idle worker, waiting in its event loop, takes the connection within that time.
    """
    return BUSY_ACCEPT_DELAY_S if generating() else 0.0


class BufferingWorker(ThreadWorker):
    """gunicorn's threaded worker, reading each request whole in its event loop before a thread serves it."""

    def init_process(self) -> None:
        self._pending: dict[Any, _Pending] = {}
        # h11 must hold at least as large a head as gunicorn accepts, so gunicorn's limits decide.
        self._max_head = (self.cfg.limit_request_line + 4
                          + self.cfg.limit_request_fields * (self.cfg.limit_request_field_size + 2) + 4)
        super().init_process()

    # -- reading requests in the event loop ----------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        delay = accept_delay()
        if delay:
            time.sleep(delay)
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        from gunicorn.workers.gthread import TConn

        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self.cfg.is_ssl:  # TLS is read by the thread (gunicorn's own path); the service serves plain HTTP
            self.enqueue_req(conn)
            return
        self._start_reading(conn)

    def on_client_socket_readable(self, conn: Any, client: socket.socket) -> None:
        """A kept-alive connection has a next request: read it whole before a thread serves it."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn)

    def enqueue_req(self, conn: Any) -> None:
        # gunicorn re-enqueues a kept-alive connection whose next request is already (partly)
        # buffered; that request is read whole first like any other.
        if conn.initialized and not getattr(conn, "aimusic_ready", False) and not self.cfg.is_ssl:
            self._start_reading(conn)
            return
        conn.aimusic_ready = False
        super().enqueue_req(conn)

    def _start_reading(self, conn: Any) -> None:
        host = conn.client[0] if isinstance(conn.client, tuple) else str(conn.client)
        same = [c for c, p in self._pending.items() if p.host == host]
        if len(same) >= MAX_PENDING_PER_CLIENT:
            self._drop(same[0])   # the oldest: a well-behaved request is read in milliseconds
        pending = _Pending(host, time.monotonic() + REQUEST_READ_TIMEOUT_S,
                           h11.Connection(h11.SERVER, max_incomplete_event_size=self._max_head))
        if conn.parser is not None:   # bytes of this request read ahead with the previous one
            ahead = conn.parser.unreader.take_buffered()
            if ahead:
                pending.raw += ahead
                pending.parser.receive_data(ahead)
        self._pending[conn] = pending
        conn.sock.setblocking(False)
        conn.data_ready = False
        if pending.raw and self._advance(conn, pending):
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, lambda _sock, c=conn: self._on_readable(c))
        pending.registered = True

    def _on_readable(self, conn: Any) -> None:
        pending = self._pending.get(conn)
        if pending is None:
            return
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:   # the client went away before its request was complete
            self._drop(conn)
            return
        pending.raw += data
        pending.parser.receive_data(data)
        self._advance(conn, pending)

    def _advance(self, conn: Any, pending: _Pending) -> bool:
        """Feed h11 what arrived; hand the connection on (or answer an error) once the request is whole."""
        try:
            while True:
                event = pending.parser.next_event()
                if event is h11.NEED_DATA:
                    return False
                if isinstance(event, h11.Request):
                    length = _content_length(event)
                    if length is not None and length > MAX_BODY_BYTES:
                        return self._ready(conn)   # the app refuses it (413) without reading the body
                    if _expects_continue(event) and not pending.continue_sent:
                        pending.continue_sent = True
                        util.write_nonblock(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
                elif isinstance(event, h11.Data):
                    pending.body_bytes += len(event.data)
                    if pending.body_bytes > MAX_BODY_BYTES:
                        return self._ready(conn)   # enough to know it is too large
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    return self._ready(conn)
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint
            detail = re.sub(r"bytearray\((b['\"].*?['\"])\)", r"\1", str(exc))[:200]
            self._answer_and_drop(conn, status, _reason(status), f"{SERVER_MESSAGES.get(status, 'bad request')}: {detail}")
            return True
        except OSError:
            self._drop(conn)
            return True

    def _unregister(self, conn: Any, pending: _Pending) -> None:
        if pending.registered:
            pending.registered = False
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _ready(self, conn: Any) -> bool:
        pending = self._pending.pop(conn)
        self._unregister(conn, pending)
        if conn.parser is None:
            from gunicorn import http

            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(pending.raw))
        conn.data_ready = True
        conn.aimusic_ready = True
        conn.aimusic_continue_sent = pending.continue_sent
        conn.sock.setblocking(True)
        super().enqueue_req(conn)
        return True

    def _drop(self, conn: Any) -> None:
        pending = self._pending.pop(conn, None)
        if pending is None:
            return
        self._unregister(conn, pending)
        self.nr_conns -= 1
        conn.close()

    def _answer_and_drop(self, conn: Any, status: int, reason: str, message: str) -> None:
        try:
            util.write_nonblock(conn.sock, error_bytes(status, reason, message))
        except OSError:
            pass
        self.log.warning("Invalid request from ip=%s: %s", self._pending[conn].host if conn in self._pending else "?",
                         message)
        self._drop(conn)

    def murder_pending(self) -> None:
        """Time out requests not received whole within :data:`REQUEST_READ_TIMEOUT_S` (408), then gunicorn's own."""
        now = time.monotonic()
        late = [c for c, p in self._pending.items() if p.deadline <= now]
        for conn in late:
            if self._pending[conn].raw:
                self._answer_and_drop(conn, 408, "Request Timeout", SERVER_MESSAGES[408])
            else:
                self._drop(conn)
        super().murder_pending()

    # -- in the thread -------------------------------------------------------------------------

    def handle_request(self, req: Any, conn: Any) -> Any:
        if getattr(conn, "aimusic_continue_sent", False):
            req._expected_100_continue = False   # sent already, while the body was being read
            conn.aimusic_continue_sent = False
        return super().handle_request(req, conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's classification and logging of the error, answered as the service's JSON."""
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        status_line = captured.data.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 500
        reason = status_line[2] if len(status_line) > 2 else _reason(status)
        message = SERVER_MESSAGES.get(status, "the request is malformed" if status < 500 else "internal error")
        if status < 500 and str(exc):
            message = f"{message}: {str(exc)[:200]}"
        try:
            util.write_nonblock(client, error_bytes(status, reason, message))
        except Exception:
            self.log.debug("Failed to send error message.")


def _content_length(request: h11.Request) -> int | None:
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return None


def _expects_continue(request: h11.Request) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in request.headers)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
