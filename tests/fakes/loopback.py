"""HTTP plumbing shared by the fake platforms (``line_platform``, ``slack_platform``).

A fake derives from ``LoopbackFake`` and implements ``_handle(method, raw_path, headers,
raw_body) -> JsonResponse``; ``start()`` serves it on ``127.0.0.1`` (a free port) from a
daemon thread with a stdlib ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1
keep-alive), and ``stop()`` shuts it down, dropping idle keep-alive connections and waking
responses that are being held back by ``JsonResponse.delay``.

Everything that is the fake's own (routes, state, validation, failure injection) stays in the
fake; this module only reads request bodies and writes JSON answers.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


@dataclass
class JsonResponse:
    """The answer to one request: a JSON body, extra headers and an optional hold-back."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to hold the HTTP response back (the request is already handled)


# (HTTP method, raw path with query, lower-cased headers, raw body) -> answer.
Responder = Callable[[str, str, dict[str, str], bytes], JsonResponse]


class LoopbackServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` on 127.0.0.1 that tracks connections so it can drop them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the default listen backlog of 5 resets bursts of connections

    def __init__(
        self,
        responder: Responder,
        stopping: threading.Event,
        handler_class: type[JsonHandler],
    ) -> None:
        super().__init__(("127.0.0.1", 0), handler_class)
        self.responder = responder
        self.stopping = stopping  # set when the server is stopping: wakes delayed responses
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def close_open_connections(self) -> None:
        """Drop idle keep-alive connections so their handler threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client hung up (timeout, closed pool): not worth a traceback
        super().handle_error(request, client_address)


class JsonHandler(BaseHTTPRequestHandler):
    """Reads the request body, asks the server's responder, writes its answer as JSON.

    Answers GET and POST; a subclass adds other methods with ``do_X = JsonHandler.serve``
    (methods without a ``do_X`` get the stdlib's 501).
    """

    protocol_version = "HTTP/1.1"  # keep-alive, as aiohttp and httpx expect
    disable_nagle_algorithm = True
    timeout = 60  # an idle keep-alive connection is dropped after this
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def serve(self) -> None:
        raw_body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.responder(self.command, self.path, headers, raw_body)
        if response.delay > 0 and self.server.stopping.wait(response.delay):
            self.close_connection = True
            return  # the server is stopping: drop the connection without answering
        payload = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired)

    do_GET = serve
    do_POST = serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet; the fake records every request itself


class LoopbackFake:
    """Base of a fake platform: start()/stop() and the context manager around a LoopbackServer.

    A subclass calls ``super().__init__()``, implements ``_handle`` and ``_started`` (to set
    its URLs), and may set ``thread_name`` and ``handler_class``.
    """

    thread_name: ClassVar[str] = "fake-platform"
    handler_class: ClassVar[type[JsonHandler]] = JsonHandler

    def __init__(self) -> None:
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._stopping.clear()
        server = LoopbackServer(self._handle, self._stopping, self.handler_class)
        self._server = server
        self._started(f"http://127.0.0.1:{server.port}")
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes delayed responses
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _started(self, base_url: str, /) -> None:
        """Called by start() with "http://127.0.0.1:PORT" before the server begins serving."""
        raise NotImplementedError

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes, /) -> JsonResponse:
        """Decide the answer to one request (called from handler threads)."""
        raise NotImplementedError
