"""Local OpenAI-compatible HTTP servers for engine-failure tests (127.0.0.1, a free port)."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any,
              headers: Mapping[str, str] | None = None) -> None:
    """Answer one request with `payload` as a JSON body (and any extra `headers`), as an OpenAI server does."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class RefusingHandler(BaseHTTPRequestHandler):
    """A server with the wrong key: 401 to everything, counting the requests it got."""

    calls = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        send_json(self, 401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})

    def log_message(self, *args) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    """A client that stops early (distill's first-batch stop closes its pool) hangs up mid-reply. socketserver
    would print that BrokenPipeError's traceback to sys.stderr from its own thread, and CliRunner, which swaps
    sys.stderr for the whole process, would put it into the output of the command under test."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` in a thread for the block; yields the base URL (`http://127.0.0.1:PORT/v1`)."""
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
