"""Clients of the Jira and Slack stand-ins, deliverers, and findings to deliver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch

from okta_pipeline.lib.alerts.delivery import Deliverer, Destinations
from okta_pipeline.lib.alerts.http import RetryPolicy
from okta_pipeline.lib.alerts.jira import JiraClient, JiraSettings
from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.alerts.messages import Alert
from okta_pipeline.lib.alerts.slack import SlackBot
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.findings import Finding
from okta_pipeline.lib.detections.model import EvidenceEvent
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.slack import SlackStandIn

JIRA_EMAIL = "secops@example.com"
JIRA_TOKEN = "jira-api-token-d7c1"
SLACK_TOKEN = "xoxb-standin-token-4f2a"
CHANNEL = "#security-alerts"
DASHBOARDS = "https://dashboards.example.com"
WINDOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@dataclass
class Waits:
    """Sleeps the retrying senders asked for, recorded instead of slept."""

    seconds: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)

    def clock(self) -> float:
        """The senders' clock: it moves by what they waited, as if they had slept."""
        return sum(self.seconds)


@contextmanager
def fresh_ledger(opensearch: OpenSearch, prefix: str = "test-ledger") -> Iterator[Ledger]:
    """A delivery ledger in an index of its own on the node, deleted afterwards."""
    book = Ledger(opensearch, f"{prefix}-{uuid.uuid4().hex[:8]}")
    book.ensure_index()
    try:
        yield book
    finally:
        opensearch.indices.delete(index=book.index, params={"ignore_unavailable": "true"})


def jira_client(server: JiraStandIn, waits: Waits, token: str = JIRA_TOKEN) -> JiraClient:
    settings = JiraSettings(server.base_url, JIRA_EMAIL, token, "SEC")
    return JiraClient(settings, RetryPolicy(attempts=6, sleep=waits, clock=waits.clock))


def slack_bot(server: SlackStandIn, waits: Waits) -> SlackBot:
    policy = RetryPolicy(attempts=6, sleep=waits, clock=waits.clock)
    return SlackBot(SLACK_TOKEN, CHANNEL, server.base_url, policy)


def deliverer(
    ledger: Ledger,
    jira: JiraStandIn | None,
    slack: SlackStandIn | None,
    waits: Waits,
    now: datetime | None = None,
    jira_token: str = JIRA_TOKEN,
    **options: Any,
) -> Deliverer:
    destinations = Destinations(
        jira=jira_client(jira, waits, jira_token) if jira else None,
        slack=slack_bot(slack, waits) if slack else None,
    )
    moment = now or datetime.now(UTC)
    return Deliverer(
        ledger, destinations, dashboards_url=DASHBOARDS, clock=lambda: moment, **options
    )


def finding(
    detection_id: str = "okta_admin_role_granted",
    user: str = "mallory@example.com",
    window: datetime = WINDOW,
    events: int = 2,
) -> Finding:
    """A finding of a real catalog detection, as the engine makes it."""
    detection = load_catalog().get(detection_id)
    entity = {field: user for field in detection.entity}
    evidence = tuple(
        EvidenceEvent(f"ev-{detection_id}-{user}-{window:%H%M}-{n}", window + timedelta(seconds=n))
        for n in range(events)
    )
    return Finding(detection, window, entity, evidence, count=events)


def alert(
    detection_id: str = "okta_admin_role_granted",
    user: str = "mallory@example.com",
    window: datetime = WINDOW,
    events: int = 2,
) -> Alert:
    """A finding as the pipeline writes it, for a real catalog detection."""
    made = finding(detection_id, user, window, events)
    return Alert(made.document(datetime.now(UTC), "okta-logs-2*"))
