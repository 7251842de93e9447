"""Alert deliveries run three at a time against Jira and Slack that sometimes act and then
answer 502 (a proxy losing the answer), round after round until nothing is pending: every
finding reaches each destination once, each repeat of an incident is one comment on its issue
and one reply in its thread, and no ticket or message is doubled. The stand-ins serve over
real sockets and the delivery ledger is on the real node; the runs share nothing else."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.alerts.delivery import DeliveryReport
from okta_pipeline.lib.alerts.ledger import IN_FLIGHT, Ledger
from okta_pipeline.lib.alerts.messages import Alert, finding_label
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.server import Request, Response
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline_tests.alerts.helpers import (
    CHANNEL,
    JIRA_EMAIL,
    JIRA_TOKEN,
    SLACK_TOKEN,
    WINDOW,
    Waits,
    alert,
    deliverer,
    fresh_ledger,
)
from okta_pipeline_tests.faults.outcome import ROWS, FaultOutcome

RUNS_AT_ONCE = 3
ROUNDS = 10
INCIDENTS = 12
LOST_ANSWER_EVERY = 3
"""Every third create (an issue, a comment, a message) is made, then answered 502."""


def creates(request: Request) -> bool:
    return request.method == "POST" and (
        request.path == "/rest/api/3/issue"
        or request.path.endswith("/comment")
        or request.path == "/api/chat.postMessage"
    )


class LosesAnswers:
    """A stand-in's handler that acts on every create, and loses every third one's answer."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.count = 0
        self.lost = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        answer: Response = self.real(request)
        if not creates(request) or answer.status >= 300:
            return answer
        with self.lock:
            self.count += 1
            if self.count % LOST_ANSWER_EVERY:
                return answer
            self.lost += 1
        return Response(502, {"error": "bad gateway"})


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraStandIn]:
    with JiraStandIn(JIRA_EMAIL, JIRA_TOKEN) as server:
        assert isinstance(server, JiraStandIn)
        monkeypatch.setattr(server, "handle", LosesAnswers(server.handle))
        yield server


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    with SlackStandIn(SLACK_TOKEN, CHANNEL) as server:
        assert isinstance(server, SlackStandIn)
        monkeypatch.setattr(server, "handle", LosesAnswers(server.handle))
        yield server


@pytest.fixture
def ledger(opensearch: OpenSearch) -> Iterator[Ledger]:
    with fresh_ledger(opensearch, "test-fault-ledger") as book:
        yield book


def findings() -> list[Alert]:
    """Each incident's first finding and a repeat three hours later (within suppression)."""
    return [
        alert(user=f"user{n:02d}@example.com", window=WINDOW + timedelta(hours=hours))
        for n in range(INCIDENTS)
        for hours in (0, 3)
    ]


def run_together(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn, alerts: list[Alert], now: datetime
) -> list[DeliveryReport]:
    """`RUNS_AT_ONCE` deliveries of the same findings at the same moment, each with clients of
    its own, started together."""
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(RUNS_AT_ONCE)

    def one_run() -> None:
        run = deliverer(ledger, jira, slack, Waits(), now=now)
        try:
            start.wait()
            reports.append(run.deliver(alerts))
        except BaseException as error:
            errors.append(error)
        finally:
            run.destinations.close()

    threads = [threading.Thread(target=one_run) for _ in range(RUNS_AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(reports) == RUNS_AT_ONCE
    return reports


def test_deliveries_run_three_at_once_through_lost_answers_double_no_ticket(
    ledger: Ledger, jira: JiraStandIn, slack: SlackStandIn
) -> None:
    alerts = findings()
    moment = datetime.now(UTC)
    rounds, converged = 0, False
    while rounds < ROUNDS and not converged:
        reports = run_together(ledger, jira, slack, alerts, moment)
        rounds += 1
        converged = not any(r.pending or r.in_flight or r.waiting for r in reports)
        moment += IN_FLIGHT + timedelta(minutes=1)  # what a crash left is taken over
    assert isinstance(jira.handle, LosesAnswers) and isinstance(slack.handle, LosesAnswers)
    assert jira.handle.lost and slack.handle.lost  # answers were lost on both sides

    issues = list(jira.issues.values())
    issues_per_finding = Counter(
        a.finding_id for a in alerts for i in issues if finding_label(a.finding_id) in i.labels
    )
    comments = Counter(
        a.finding_id
        for a in alerts
        for i in issues
        for c in i.comments
        if a.marker in json.dumps(c["body"])
    )
    top = {m.ts: m for m in slack.messages if m.thread_ts is None}
    posted = Counter(str(m.metadata["event_payload"]["finding_id"]) for m in slack.messages)
    firsts, repeats = alerts[0::2], alerts[1::2]
    replies_in_place = sum(
        1
        for first, repeat in zip(firsts, repeats, strict=True)
        for m in slack.messages
        if m.metadata["event_payload"]["finding_id"] == repeat.finding_id
        and m.thread_ts in top
        and top[m.thread_ts].metadata["event_payload"]["finding_id"] == first.finding_id
    )
    made = len(issues) + sum(len(i.comments) for i in issues) + len(slack.messages)
    distinct = len(set(issues_per_finding) & {a.finding_id for a in firsts})
    distinct += len(set(comments) & {a.finding_id for a in repeats}) + len(posted)
    sent = sum(1 for a in alerts for d in ("jira", "slack") if ledger.delivered(a.finding_id, d))
    expected = 2 * len(alerts)  # each finding to Jira (an issue or a comment) and to Slack
    ROWS.append(
        FaultOutcome(
            scenario=(
                f"{RUNS_AT_ONCE} alert deliveries at once, every {LOST_ANSWER_EVERY}rd create's "
                "answer lost (tickets and messages)"
            ),
            expected=expected,
            landed=distinct,
            indexed=sent,
            duplicates=made - distinct,
            over_budget=0,
        )
    )
    assert converged, "deliveries were still pending after every round"
    assert len(issues) == INCIDENTS
    assert all(issues_per_finding[a.finding_id] == 1 for a in alerts)
    assert all(comments[a.finding_id] == 1 for a in repeats) and not set(comments) - {
        a.finding_id for a in repeats
    }
    assert all(posted[a.finding_id] == 1 for a in alerts) and len(slack.messages) == len(alerts)
    assert replies_in_place == len(repeats)
    assert sent == expected
