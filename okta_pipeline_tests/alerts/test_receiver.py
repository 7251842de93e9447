"""The alert receiver over a real socket: who it refuses, and how a monitor's alert becomes the
pipeline's own finding, delivered once through the ledger on the real node."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.alerts.intake import AlertIntake
from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.alerts.messages import Alert
from okta_pipeline.lib.alerts.receiver import MAX_BODY_BYTES, AlertReceiver, parse_alert
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import evaluate
from okta_pipeline.lib.detections.findings import ensure_findings_template, write_findings
from okta_pipeline.lib.monitors.channel import ensure_receiver_channel, remove_receiver_channel
from okta_pipeline.lib.monitors.compile import MonitorOptions, compile_monitor
from okta_pipeline.lib.monitors.sync import MonitorSync
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline.lib.windows import WINDOW
from okta_pipeline_tests.alerts.helpers import Waits, deliverer
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.monitors.helpers import execute
from okta_pipeline_tests.stored_events import Prefixes, index_events

SECRET = "monitor-shared-secret-5b0e9c1d"
DETECTION = load_catalog().get("okta_admin_role_granted")
ANCHOR = datetime(2026, 11, 20, 10, 1, tzinfo=UTC)
RECEIVER_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the receiver's clock, in the tests


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Okta-Pipeline-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def monitor_alert(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "monitor": "okta_admin_role_granted",
        "detection_id": DETECTION.id,
        "detection_version": DETECTION.version,
        "entity": {"actor.alternateId": "admin@example.com", "target.alternateId": "u@example.com"},
        "window_start": "2026-11-20T10:00:00Z",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def receiver(
    opensearch: OpenSearch,
    prefixes: Prefixes,
    ledger: Ledger,
    jira: JiraStandIn,
    slack: SlackStandIn,
    waits: Waits,
) -> Iterator[AlertReceiver]:
    intake = AlertIntake(
        opensearch,
        load_catalog(),
        deliverer(ledger, jira, slack, waits),
        prefixes.logs_index,
        prefixes.findings,
        now=lambda: RECEIVER_NOW,
    )
    with AlertReceiver(SECRET, intake) as serving:
        yield serving


def post(receiver: AlertReceiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(receiver.url, content=body, headers=headers, timeout=30)


def address(receiver: AlertReceiver) -> tuple[str, int]:
    host, port = receiver.url.removeprefix("http://").split("/")[0].split(":")
    return host, int(port)


def findings_indices(opensearch: OpenSearch, prefixes: Prefixes) -> list[str]:
    found = opensearch.indices.get(
        index=f"{prefixes.findings}-*",
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return sorted(found)


def stored_findings(opensearch: OpenSearch, prefixes: Prefixes) -> list[dict[str, Any]]:
    response = opensearch.search(
        index=f"{prefixes.findings}-*",
        body={"query": {"match_all": {}}},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return [hit for hit in response["hits"]["hits"]]


def test_requests_without_the_secret_or_a_valid_signature_are_refused(
    receiver: AlertReceiver, opensearch: OpenSearch, prefixes: Prefixes, jira: JiraStandIn
) -> None:
    body = json.dumps(monitor_alert()).encode()
    tampered = json.dumps(monitor_alert(detection_id="okta_mfa_factor_reset")).encode()
    attempts = {
        "unsigned": post(receiver, body, {"Content-Type": "application/json"}),
        "wrong token": post(receiver, body, {"X-Okta-Pipeline-Token": "not-the-secret-at-all"}),
        "wrong key": post(receiver, body, signed(body, "another-secret-of-enough-length")),
        "another body's signature": post(receiver, tampered, signed(body)),
        "not sha256": post(receiver, body, {"X-Okta-Pipeline-Signature": "sha1=abc"}),
    }
    for name, response in attempts.items():
        assert response.status_code == 401, name
        assert "shared secret or signature" in response.json()["error"], name
    assert stored_findings(opensearch, prefixes) == [] and jira.issues == {}


def test_oversized_and_malformed_bodies_are_refused_saying_what_is_wrong(
    receiver: AlertReceiver,
) -> None:
    oversized = b"{" + b" " * MAX_BODY_BYTES + b"}"
    response = post(receiver, oversized, signed(oversized))
    assert response.status_code == 413 and str(MAX_BODY_BYTES) in response.json()["error"]

    malformed = {
        b"not json at all": "not JSON",
        b"[1, 2]": "a JSON object",
        json.dumps(monitor_alert(detection_version="1")).encode(): "detection_version",
        json.dumps(monitor_alert(entity={})).encode(): "entity",
        json.dumps(monitor_alert(window_start="yesterday")).encode(): "ISO 8601",
        json.dumps(monitor_alert(evidence_uuids="one")).encode(): "evidence_uuids",
    }
    for body, reason in malformed.items():
        response = post(receiver, body, signed(body))
        assert response.status_code == 400, body
        assert reason in response.json()["error"], body

    # Without a Content-Length the receiver cannot bound the body: refused before reading it.
    host, port = receiver.url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST /alerts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert raw.recv(200).startswith(b"HTTP/1.0 411")


def test_alerts_from_another_catalog_or_an_older_version_are_refused(
    receiver: AlertReceiver,
) -> None:
    unknown = json.dumps(monitor_alert(detection_id="okta_not_in_catalog")).encode()
    response = post(receiver, unknown, signed(unknown))
    assert response.status_code == 422 and "okta_not_in_catalog" in response.json()["error"]
    stale = json.dumps(monitor_alert(detection_version=DETECTION.version + 1)).encode()
    response = post(receiver, stale, signed(stale))
    assert response.status_code == 409 and "sync the monitors" in response.json()["error"]


def test_a_monitor_alert_becomes_the_pipelines_finding_and_is_delivered_once(
    receiver: AlertReceiver,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    jira: JiraStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    positive = next(e for e in DETECTION.examples if e.expect_finding)
    events = example_events(positive, ANCHOR, "receiver")
    index_events(opensearch, prefixes.logs, events, tmp_path)
    window = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    evaluation = evaluate(opensearch, prefixes.logs_index, [DETECTION], window, window + WINDOW)
    (expected,) = evaluation.findings

    payload = monitor_alert(
        entity=dict(expected.entity),
        period_end="2026-11-20T10:05:00Z",  # a monitor's period ends where the window ends
        evidence_uuids=[e["uuid"] for e in events],
    )
    del payload["window_start"]
    body = json.dumps(payload).encode()
    response = post(receiver, body, signed(body))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["finding_id"] == expected.id
    assert (answer["jira_created"], answer["slack_sent"]) == (1, 1)
    (stored,) = stored_findings(opensearch, prefixes)
    assert stored["_id"] == expected.id
    assert sorted(stored["_source"]["evidence"]["uuids"]) == sorted(e["uuid"] for e in events)

    # Alerting repeats an alert while it stays active: nothing more is sent.
    again = post(receiver, body, {"X-Okta-Pipeline-Token": SECRET})
    assert again.status_code == 202
    assert again.json() == {**answer, "jira_created": 0, "slack_sent": 0}
    assert len(jira.issues) == 1 and len(slack.messages) == 1
    assert len(stored_findings(opensearch, prefixes)) == 1


def test_a_finding_the_pipeline_already_delivered_gives_no_second_ticket(
    receiver: AlertReceiver,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    ledger: Ledger,
    jira: JiraStandIn,
    slack: SlackStandIn,
    waits: Waits,
    tmp_path: Path,
) -> None:
    positive = next(e for e in DETECTION.examples if e.expect_finding)
    index_events(opensearch, prefixes.logs, example_events(positive, ANCHOR, "both"), tmp_path)
    window = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    evaluation = evaluate(opensearch, prefixes.logs_index, [DETECTION], window, window + WINDOW)
    ensure_findings_template(opensearch, prefixes.findings)
    now = datetime.now(UTC)
    write_findings(opensearch, prefixes.findings, evaluation.findings, now, prefixes.logs_index)
    documents = [f.document(now, prefixes.logs_index) for f in evaluation.findings]
    delivered = deliverer(ledger, jira, slack, waits).deliver(Alert(d) for d in documents)
    assert delivered.jira_created == 1 and len(jira.issues) == 1

    (finding,) = evaluation.findings
    body = json.dumps(monitor_alert(entity=dict(finding.entity))).encode()
    response = post(receiver, body, signed(body))
    assert response.status_code == 202
    assert response.json()["finding_id"] == finding.id
    assert response.json()["jira_created"] == 0 and response.json()["slack_sent"] == 0
    assert len(jira.issues) == 1 and len(slack.messages) == 1

    # An alert for the same incident a window later is a comment on that ticket.
    later = json.dumps(
        monitor_alert(
            entity=dict(finding.entity),
            window_start=(window + timedelta(minutes=5)).isoformat(),
        )
    ).encode()
    response = post(receiver, later, signed(later))
    assert response.json()["jira_commented"] == 1 and len(jira.issues) == 1


def test_a_synced_monitors_alert_reaches_the_receiver_through_a_notifications_channel(
    receiver: AlertReceiver,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    jira: JiraStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    """Alerting renders the monitor's action, Notifications posts it with the shared secret, and
    the receiver stores and delivers the finding the pipeline computes for that window."""
    positive = next(e for e in DETECTION.examples if e.expect_finding)
    index_events(opensearch, prefixes.logs, example_events(positive, ANCHOR, "channel"), tmp_path)
    window = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    (expected,) = evaluate(
        opensearch, prefixes.logs_index, [DETECTION], window, window + WINDOW
    ).findings
    lag = timedelta(minutes=10)
    channel = ensure_receiver_channel(opensearch, prefixes.logs, receiver.url, SECRET)
    options = MonitorOptions(
        prefixes.logs_index, prefixes.logs, lag=lag, channel_id=channel, enabled=False
    )
    sync = MonitorSync(opensearch, prefixes.logs)
    try:
        body = compile_monitor(DETECTION, options)
        assert body is not None
        sync.sync([body])
        monitor_id = sync.stored()[DETECTION.id].id
        # The run that reads this window: its period ends the lag after the window, plus the
        # seconds a scheduled run starts late.
        period_end = window + WINDOW + lag + timedelta(seconds=20)
        execute(opensearch, monitor_id, period_end, dryrun=False)
        assert len(jira.issues) == 1 and len(slack.messages) == 1
        (stored,) = stored_findings(opensearch, prefixes)
        assert stored["_id"] == expected.id
        entity = {pair["field"]: pair["value"] for pair in stored["_source"]["entity"]}
        assert entity == dict(expected.entity)
    finally:
        sync.sync([])
        remove_receiver_channel(opensearch, prefixes.logs)


def test_a_monitors_bucket_keys_and_lag_give_the_entity_and_the_window_it_read() -> None:
    payload = monitor_alert(
        entity_fields=["actor.alternateId", "target.alternateId"],
        bucket_keys="admin@example.com,null",
        period_end="2026-11-20T10:15:20Z",
        lag_minutes=10,
    )
    del payload["entity"], payload["window_start"]
    alert = parse_alert(json.dumps(payload).encode())
    assert alert.entity == {"actor.alternateId": "admin@example.com", "target.alternateId": "-"}
    assert alert.window == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

    payload["bucket_keys"] = "admin@example.com,Smith, Jo"
    with pytest.raises(ValueError, match="3 comma-separated values for 2 entity fields"):
        parse_alert(json.dumps(payload).encode())
    payload["bucket_keys"] = "admin@example.com,null"
    payload["lag_minutes"] = -5
    with pytest.raises(ValueError, match="lag_minutes"):
        parse_alert(json.dumps(payload).encode())


def test_an_idle_or_stalled_connection_is_closed_after_the_read_timeout() -> None:
    with AlertReceiver(SECRET, lambda alert: {}, timeout=0.5) as serving:
        with socket.create_connection(address(serving), timeout=10) as idle:
            began = time.monotonic()
            assert idle.recv(200) == b""  # closed, without a request to answer
            assert time.monotonic() - began < 5
        with socket.create_connection(address(serving), timeout=10) as stalled:
            stalled.sendall(b"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            began = time.monotonic()
            answer = b""
            while chunk := stalled.recv(4096):
                answer += chunk
            assert answer.startswith(b"HTTP/1.0 408")
            assert b"within" in answer and time.monotonic() - began < 5


def test_an_intake_failure_is_a_500_that_names_no_internals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing(alert: Any) -> dict[str, Any]:
        raise RuntimeError("cluster https://admin:hunter2@node:9200 refused the write")

    body = json.dumps(monitor_alert()).encode()
    with AlertReceiver(SECRET, failing) as serving, caplog.at_level(logging.ERROR):
        response = post(serving, body, signed(body))
    assert response.status_code == 500
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "error" in response.json()
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


def test_times_out_of_datetimes_range_are_refused_naming_the_field(
    receiver: AlertReceiver,
) -> None:
    payload = monitor_alert(period_end="0001-01-01T00:00:00Z")
    del payload["window_start"]
    refused = {
        json.dumps(payload).encode(): "period_end",
        json.dumps(monitor_alert(window_start="0001-01-01T00:00:00+01:00")).encode(): (
            "window_start"
        ),
    }
    for body, field in refused.items():
        response = post(receiver, body, signed(body))
        assert response.status_code == 400, body
        assert field in response.json()["error"] and "range" in response.json()["error"], body


def test_alerts_for_another_entity_or_a_window_far_from_now_are_refused(
    receiver: AlertReceiver, opensearch: OpenSearch, prefixes: Prefixes, jira: JiraStandIn
) -> None:
    """Each day an alert names would be a findings index of its own: only windows near now, and
    only the detection's own entity fields, are stored."""
    bucketed = monitor_alert(entity_fields=["user.name"], bucket_keys="someone")
    del bucketed["entity"]
    refused = {
        json.dumps(monitor_alert(window_start="1970-01-01T00:00:00Z")).encode(): "window_start",
        json.dumps(monitor_alert(window_start="9999-12-31T23:58Z")).encode(): "window_start",
        json.dumps(
            monitor_alert(window_start=(RECEIVER_NOW + timedelta(hours=1)).isoformat())
        ).encode(): "window_start",
        json.dumps(monitor_alert(entity={"user.name": "someone"})).encode(): "entity",
        json.dumps(monitor_alert(entity={"actor.alternateId": "a@example.com"})).encode(): "entity",
        json.dumps(bucketed).encode(): "entity",
    }
    for body, field in refused.items():
        response = post(receiver, body, signed(body))
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert field in error, body
        if field == "entity":
            assert "actor.alternateId" in error and "target.alternateId" in error, error
        else:
            assert "30 days" in error and "5 minutes" in error, error
    assert findings_indices(opensearch, prefixes) == [] and jira.issues == {}
