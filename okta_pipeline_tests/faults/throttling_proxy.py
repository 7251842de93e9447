"""A proxy in front of the real node that throttles `_bulk` for a while, as a cluster whose write
queue is full does: alternately the whole request (HTTP 429) and every item in a 200 answer
(`es_rejected_execution_exception`). Everything else, and every request after the storm, goes
to the node unchanged."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from okta_pipeline.lib.http_server import BackgroundHTTPServer


class ThrottlingProxy(BackgroundHTTPServer):
    def __init__(self, node_url: str, clock: Callable[[], float], storm_seconds: float) -> None:
        super().__init__(_handler_for(self))
        self.node = httpx.Client(base_url=node_url, timeout=60)
        self.clock = clock
        self.storm_seconds = storm_seconds
        self.storm_until: float | None = None  # set by the first bulk request
        self.throttled_requests = 0
        self.throttled_items = 0
        self.forwarded_bulks = 0
        self._lock = threading.Lock()

    def throttle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]] | None:
        if not path.split("?")[0].endswith("/_bulk"):
            return None
        now = self.clock()
        with self._lock:
            if self.storm_until is None:
                self.storm_until = now + self.storm_seconds
            if now >= self.storm_until:
                self.forwarded_bulks += 1
                return None
            self.throttled_requests += 1
            whole = self.throttled_requests % 2 == 1
        if whole:
            return 429, {
                "error": {"type": "es_rejected_execution_exception", "reason": "storm"},
                "status": 429,
            }
        actions = [json.loads(line) for line in body.splitlines()[::2] if line.strip()]
        with self._lock:
            self.throttled_items += len(actions)
        items = [
            {
                kind: {
                    "_index": spec.get("_index"),
                    "_id": spec.get("_id"),
                    "status": 429,
                    "error": {"type": "es_rejected_execution_exception", "reason": "storm"},
                }
            }
            for action in actions
            for kind, spec in action.items()
        ]
        return 200, {"took": 1, "errors": True, "items": items}

    def stop(self) -> None:
        super().stop()
        self.node.close()


def _handler_for(proxy: ThrottlingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            encoding = self.headers.get("Content-Encoding")
            plain = gzip.decompress(body) if encoding == "gzip" else body
            throttled = proxy.throttle(self.path, plain)
            if throttled is not None:
                status, answer = throttled
                self._answer(status, "application/json", json.dumps(answer).encode())
                return
            response = proxy.node.request(
                self.command,
                self.path,
                content=body,
                headers={
                    "Content-Type": self.headers.get("Content-Type", "application/json"),
                    **({"Content-Encoding": encoding} if encoding else {}),
                },
            )
            self._answer(
                response.status_code,
                response.headers.get("Content-Type", "application/json"),
                response.content,
            )

        def _answer(self, status: int, content_type: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay  # noqa: N815 (http.server names)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
