"""A stand-in for the desk's directory (`GET /admin/people` with an API key) on a local
HTTP port, for notify tests that run the service against the real broker and database."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextlib.contextmanager
def fake_desk(people: list[dict[str, Any]], key: str) -> Iterator[str]:
    """Serve `people` to callers with `key` (401 otherwise); yield the desk's URL."""

    class People(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            ok = self.path == "/admin/people" and self.headers.get("X-API-Key") == key
            body = json.dumps({"items": people, "count": len(people)}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body if ok else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), People)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
