"""A stand-in for Slack: chat.postMessage and conversations.history for a bot token, and one
incoming webhook, in memory. Slack answers 200 with `ok: false` for most refusals, as here."""

from __future__ import annotations

import hmac
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from okta_pipeline.lib.standins.server import Request, Response, StandInServer

WEBHOOK_PATH = "/services/T0000/B0000/standin"


@dataclass
class Posted:
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str
    thread_ts: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    via: str = "bot"


class SlackStandIn(StandInServer):
    def __init__(self, token: str, channel: str = "#security-alerts", port: int = 0) -> None:
        super().__init__(port)
        self._token = f"Bearer {token}".encode()
        self.channel = channel
        self.messages: list[Posted] = []
        self._ts = itertools.count(1)
        self._messages_lock = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    def handle(self, request: Request) -> Response:
        if request.path == WEBHOOK_PATH and request.method == "POST":
            body = request.json()
            self._add(
                Posted(
                    self.channel, body["text"], body.get("blocks", []), self._next(), via="webhook"
                )
            )
            return Response(200, "ok")
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, self._token):
            return Response(200, {"ok": False, "error": "invalid_auth"})
        body = request.json()
        if body.get("channel") != self.channel:
            return Response(200, {"ok": False, "error": "channel_not_found"})
        if request.path == "/api/chat.postMessage":
            posted = Posted(
                self.channel,
                body["text"],
                body.get("blocks", []),
                self._next(),
                body.get("thread_ts"),
                body.get("metadata") or {},
            )
            self._add(posted)
            return Response(200, {"ok": True, "channel": self.channel, "ts": posted.ts})
        if request.path in ("/api/conversations.history", "/api/conversations.replies"):
            oldest = float(body.get("oldest", 0))
            if request.path.endswith("history"):  # top-level messages only, newest first
                chosen = [m for m in self.messages[::-1] if m.thread_ts is None]
            else:  # the thread's parent, then its replies, oldest first
                parent = str(body.get("ts"))
                chosen = [m for m in self.messages if parent in (m.ts, m.thread_ts)]
            found = [
                {"ts": m.ts, "text": m.text, "metadata": m.metadata}
                for m in chosen
                if float(m.ts) >= oldest and m.via == "bot"
            ]
            return Response(200, _page(found, int(body.get("limit", 100)), body.get("cursor")))
        return Response(404, {"ok": False, "error": "unknown_method"})

    def _next(self) -> str:
        # Real timestamps, so `oldest` filters work; a counter keeps them unique.
        return f"{time.time():.0f}.{next(self._ts):06d}"

    def _add(self, posted: Posted) -> None:
        with self._messages_lock:
            self.messages.append(posted)


def _page(messages: list[dict[str, Any]], limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of `messages` as Slack's cursor pagination gives it (at most 999 a page)."""
    start = int(cursor or 0)
    end = start + max(1, min(limit, 999))
    more = end < len(messages)
    return {
        "ok": True,
        "messages": messages[start:end],
        "has_more": more,
        "response_metadata": {"next_cursor": str(end) if more else ""},
    }
