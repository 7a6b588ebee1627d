"""Local OpenAI-compatible HTTP servers for engine-failure tests (127.0.0.1, a free port)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RefusingHandler(BaseHTTPRequestHandler):
    """A server with the wrong key: 401 to everything, counting the requests it got."""

    calls = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        reply = b'{"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

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
