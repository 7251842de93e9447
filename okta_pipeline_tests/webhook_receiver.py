"""A webhook receiver on 127.0.0.1 that records what it is sent, for tests over a real socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from okta_pipeline.lib.http_server import BackgroundHTTPServer


@dataclass(frozen=True)
class Delivery:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class WebhookReceiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """The deliveries so far, once at least `count` have arrived (or the timeout passed)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout)
            return list(self.deliveries)


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """Serve http://127.0.0.1:<free port>/hook until the block ends; answer every POST with 200."""
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            delivery = Delivery(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length).decode("utf-8", "replace"),
            )
            with receiver.arrived:
                receiver.deliveries.append(delivery)
                receiver.arrived.notify_all()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    with BackgroundHTTPServer(Handler) as server:
        receiver = WebhookReceiver(url=f"{server.base_url}/hook")
        yield receiver
