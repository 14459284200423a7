"""The merchants' webhook receiver for `sandbox bench --soak`, as its own process (in the
load generator's process its threads would take the GIL from the load): answers every
POST with 200 and an empty body.

    python -m sandbox.bench.servers.receiver PORT"""

from __future__ import annotations

import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 (readiness probe)
        self.do_POST()

    def log_message(self, format: str, *args) -> None:
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
