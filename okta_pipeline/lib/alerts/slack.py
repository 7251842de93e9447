"""Slack: a bot posting with chat.postMessage (threads, and a way to find what it posted), or an
incoming webhook (neither threads nor lookups: repeats become messages of their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from okta_pipeline.lib.alerts.http import (
    DEFAULT_RETRY,
    DestinationRefusedError,
    RetryingSender,
    RetryPolicy,
)

SLACK = "Slack"
METADATA_EVENT = "okta_pipeline_finding"


@dataclass(frozen=True)
class SlackMessage:
    text: str
    """The notification text (and what clients without Block Kit show)."""
    blocks: list[dict[str, Any]]
    finding_id: str
    also: tuple[str, ...] = ()
    """Other deliveries this one message makes (a superseded notice it carries)."""


class SlackDestination(Protocol):
    threads: bool

    def post(self, message: SlackMessage, thread: str | None) -> str | None:
        """Post; return the message's timestamp when Slack tells it."""
        ...

    def find_posted(
        self, finding_id: str, since: datetime, thread: str | None = None
    ) -> str | None:
        """The timestamp of a message already posted for the finding (in `thread` when it
        would be a reply), when Slack can tell."""
        ...

    def close(self) -> None: ...


class SlackBot:
    """chat.postMessage with a bot token (scopes chat:write and channels:history)."""

    threads = True

    def __init__(
        self,
        token: str,
        channel: str,
        base_url: str = "https://slack.com",
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.channel = channel
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
        self.sender = RetryingSender(
            self._http,
            SLACK,
            refusal_hints={
                401: "Check the Slack bot token",
                403: "Give the bot the chat:write and channels:history scopes",
                404: "Check the Slack API URL",
            },
            policy=retry,
        )

    def __repr__(self) -> str:
        return f"SlackBot(channel={self.channel!r})"

    def close(self) -> None:
        self._http.close()

    def post(self, message: SlackMessage, thread: str | None) -> str | None:
        body: dict[str, Any] = {
            "channel": self.channel,
            "text": message.text,
            "blocks": message.blocks,
            "metadata": {
                "event_type": METADATA_EVENT,
                "event_payload": {"finding_id": message.finding_id, "also": list(message.also)},
            },
        }
        if thread:
            body["thread_ts"] = thread
        answer = self._call("chat.postMessage", body, creates=True)
        return str(answer["ts"])

    def find_posted(
        self, finding_id: str, since: datetime, thread: str | None = None
    ) -> str | None:
        # The channel's history holds no thread replies: a reply is looked for in its thread.
        method, body = "conversations.history", {}
        if thread:
            method, body = "conversations.replies", {"ts": thread}
        cursor = None
        while True:
            answer = self._call(
                method,
                {
                    **body,
                    "channel": self.channel,
                    "oldest": f"{since.timestamp():.6f}",
                    "include_all_metadata": True,
                    "limit": 200,
                    **({"cursor": cursor} if cursor else {}),
                },
            )
            for posted in answer.get("messages", []):
                payload = (posted.get("metadata") or {}).get("event_payload") or {}
                if finding_id == payload.get("finding_id") or finding_id in payload.get("also", []):
                    return str(posted["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not answer.get("has_more") or not cursor:
                return None

    def _call(self, method: str, body: dict[str, Any], creates: bool = False) -> dict[str, Any]:
        response = self.sender.send("POST", f"/api/{method}", creates=creates, json=body)
        answer: dict[str, Any] = response.json()
        if not answer.get("ok"):
            # Slack answers 200 with ok=false for configuration errors.
            raise DestinationRefusedError(
                SLACK,
                response.status_code,
                str(answer.get("error", "not ok")),
                "Check the bot token, its scopes, and that the bot is in the channel "
                f"{self.channel}",
            )
        return answer


class SlackWebhook:
    """An incoming webhook: Block Kit messages to one channel, no threads, no lookups."""

    threads = False

    def __init__(self, url: str, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._url = url
        self._http = httpx.Client(timeout=30.0)
        self.sender = RetryingSender(
            self._http,
            SLACK,
            refusal_hints={
                403: "The webhook was revoked or its app removed: create a new one",
                404: "The webhook URL is wrong or was deleted",
                410: "The channel was archived: point the webhook at another",
            },
            policy=retry,
        )

    def __repr__(self) -> str:  # the URL is the credential
        return "SlackWebhook(url=<hidden>)"

    def close(self) -> None:
        self._http.close()

    def post(self, message: SlackMessage, thread: str | None) -> str | None:
        body = {"text": message.text, "blocks": message.blocks}
        self.sender.send("POST", self._url, creates=True, json=body)
        return None

    def find_posted(
        self, finding_id: str, since: datetime, thread: str | None = None
    ) -> str | None:
        return None
