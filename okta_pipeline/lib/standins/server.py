"""A small JSON HTTP server on 127.0.0.1 for stand-ins of SaaS APIs, with scripted faults."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from okta_pipeline.lib.http_server import BackgroundHTTPServer

MAX_BODY_BYTES = 1024 * 1024
STORED_PATH = "/_standin/stored"
"""What a storing stand-in holds, for a test or benchmark in another process (no auth)."""


def stored_summary(counts: Mapping[str, int]) -> dict[str, int]:
    return {"distinct": len(counts), "total": sum(counts.values())}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Response]


class StandInServer(BackgroundHTTPServer):
    """Serves `handle(request)` in a background thread; `fail_next` scripts faults."""

    max_body_bytes = MAX_BODY_BYTES
    """Larger bodies are answered 413 unread."""

    def __init__(self, port: int = 0) -> None:
        self._faults: deque[Response] = deque()
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        super().__init__(self._handler(), "127.0.0.1", port)

    def fail_next(self, count: int, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next `count` requests with `status` (a 429 storm, an outage)."""
        with self._lock:
            for _ in range(count):
                self._faults.append(Response(status, {"error": "scripted"}, headers or {}))

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def _respond(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            if self._faults:
                return self._faults.popleft()
        return self.handle(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > server.max_body_bytes:
                    self._write(Response(413, {"error": "body too large"}))
                    return
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                try:
                    response = server._respond(request)
                except (ValueError, KeyError, TypeError) as error:
                    response = Response(400, {"error": f"bad request: {error}"})
                self._write(response)

            def _write(self, response: Response) -> None:
                payload = (
                    response.body.encode()
                    if isinstance(response.body, str)
                    else json.dumps(response.body).encode()
                )
                self.send_response(response.status)
                content_type = (
                    "text/plain" if isinstance(response.body, str) else "application/json"
                )
                self.send_header("Content-Type", content_type)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
