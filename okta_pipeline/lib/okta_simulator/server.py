"""Serve a SimulatorApp over real HTTP on 127.0.0.1 (a thread per request, like a real server)."""

from __future__ import annotations

from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from okta_pipeline.lib.http_server import BackgroundHTTPServer, send_json
from okta_pipeline.lib.okta_simulator.api import Request, SimulatorApp, okta_error

MAX_BODY_BYTES = 64 * 1024


class SimulatorServer(BackgroundHTTPServer):
    """Runs in a background thread; use as a context manager or call start()/stop()."""

    def __init__(self, app: SimulatorApp, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(_handler_for(app), host, port)
        self.app = app


def _address(address: object) -> str:
    host, port = tuple(address)[:2] if isinstance(address, tuple) else (str(address), "")
    return f"{host}:{port}"


def _handler_for(app: SimulatorApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "okta-simulator"

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # requests carry credentials in headers; nothing is logged per request

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header on the simulator's clock: clients time rate-limit resets with it.
            return formatdate(app.now() if timestamp is None else timestamp, usegmt=True)

        def _dispatch(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY_BYTES:
                self.close_connection = True
                self._send(
                    400 if length < 0 else 413,
                    {"errorCode": "E0000001", "errorSummary": "Bad Content-Length"},
                    [],
                )
                return
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            host = self.headers.get("Host") or _address(self.server.server_address)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                base_url=f"http://{host}",
            )
            try:
                response = app.handle(request)
            except Exception:  # a simulator bug must answer like Okta's 500, not drop the socket
                self._send(500, okta_error("E0000009", "Internal Server Error"), [])
                return
            self._send(response.status, response.body, response.headers)

        def _send(self, status: int, body: Any, headers: list[tuple[str, str]]) -> None:
            send_json(self, status, body, headers)

    return Handler
