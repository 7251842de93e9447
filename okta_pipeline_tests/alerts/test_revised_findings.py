"""Findings revised by late events, and tuning exceptions, on the real node: a late event that
moves a threshold's crossing supersedes the finding it undoes (kept, not deleted), its Jira
issue gets one comment, and a re-run adds nothing; an exception suppresses without hiding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.alerts.messages import Alert
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.exceptions import DetectionException
from okta_pipeline.lib.detections.findings import (
    ACTIVE,
    SUPERSEDED,
    SUPPRESSED,
    ensure_findings_template,
)
from okta_pipeline.lib.detections.model import Example
from okta_pipeline.lib.detections.revision import revise_findings
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline_tests.alerts.helpers import Waits, deliverer
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.stored_events import Prefixes, index_events

CATALOG = load_catalog()
SPRAY = CATALOG.get("okta_password_spray")  # ten users failing from one address in 30 minutes
ANCHOR = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
ADDRESS = "203.0.113.50"


def failures(tag: str, first_user: int, count: int, at: str) -> list[dict[str, Any]]:
    """`count` failed sign-ins from ADDRESS, each for another user, from `at` on."""
    spec = {
        "actor": {"id": "unknown", "alternateId": f"sprayed{first_user}+{{n}}@example.com"},
        "client": {"ipAddress": ADDRESS},
        "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
        "at": at,
        "repeat": count,
        "every": "10s",
    }
    return example_events(Example(name=tag, expect_finding=True, events=(spec,)), ANCHOR, tag)


def stored(opensearch: OpenSearch, prefix: str) -> dict[str, dict[str, Any]]:
    opensearch.indices.refresh(index=f"{prefix}-*")
    hits = opensearch.search(index=daily_indices(prefix), body={"size": 100})["hits"]["hits"]
    return {hit["_source"]["finding_id"]: hit["_source"] for hit in hits}


def revise(opensearch: OpenSearch, prefixes: Prefixes, start: datetime, end: datetime) -> Any:
    ensure_findings_template(opensearch, prefixes.findings)
    return revise_findings(
        opensearch,
        prefixes.logs_index,
        prefixes.findings,
        [SPRAY],
        start,
        end,
        evaluated_at=datetime.now(UTC),
    )


def test_a_late_event_moving_a_crossing_supersedes_the_finding_and_comments_its_issue_once(
    opensearch: OpenSearch,
    prefixes: Prefixes,
    tmp_path: Path,
    ledger: Ledger,
    jira: JiraStandIn,
    waits: Waits,
) -> None:
    # Nine users fail in the 10:00 window and a tenth at 10:06: the threshold crosses at 10:05.
    on_time = failures("a", 0, 9, "1m") + failures("b", 100, 1, "6m")
    index_events(opensearch, prefixes.logs, on_time, tmp_path)
    first = revise(opensearch, prefixes, ANCHOR, ANCHOR + timedelta(minutes=15))
    assert [f.window for f in first.findings] == [ANCHOR + timedelta(minutes=5)]
    crossed = first.findings[0]
    report = deliverer(ledger, jira, None, waits).deliver(
        [Alert(s) for s in stored(opensearch, prefixes.findings).values()]
    )
    assert report.jira_created == 1 and len(jira.issues) == 1
    issue = next(iter(jira.issues.values()))

    # A late event for another user at 10:04: the crossing is now in the 10:00 window. The
    # pipeline re-runs that window only; the 10:05 finding is within the detection's span.
    index_events(opensearch, prefixes.logs, failures("c", 200, 1, "4m"), tmp_path)
    late = revise(opensearch, prefixes, ANCHOR, ANCHOR + timedelta(minutes=5))
    assert [f.window for f in late.findings] == [ANCHOR]
    replacement = late.findings[0]
    assert [s.finding.id for s in late.superseded] == [crossed.id]
    assert late.superseded[0].by == (replacement.id,)

    findings = stored(opensearch, prefixes.findings)
    assert set(findings) == {crossed.id, replacement.id}, "the superseded finding is kept"
    assert findings[crossed.id]["status"] == SUPERSEDED
    assert findings[crossed.id]["superseded"]["by"] == [replacement.id]
    assert findings[replacement.id]["status"] == ACTIVE

    alerts = [Alert(s) for s in findings.values()]
    again = deliverer(ledger, jira, None, waits).deliver(alerts)
    assert len(jira.issues) == 1, "the replacement goes on the same issue, not a new one"
    assert len(issue.comments) == 1
    comment = json.dumps(issue.comments[0])
    assert crossed.id in comment and replacement.id in comment
    assert again.superseded_noticed == 1

    once_more = deliverer(ledger, jira, None, waits).deliver(alerts)
    assert len(issue.comments) == 1
    assert once_more.superseded_noticed == 0 and once_more.jira_commented == 0


def test_a_day_then_its_windows_supersedes_nothing(
    opensearch: OpenSearch, prefixes: Prefixes, tmp_path: Path
) -> None:
    """A backfill of the range and the automation's window-by-window runs agree: re-running
    the windows one at a time writes the same findings and supersedes none."""
    events = failures("a", 0, 9, "1m") + failures("b", 100, 3, "6m") + failures("c", 300, 12, "40m")
    index_events(opensearch, prefixes.logs, events, tmp_path)
    day = revise(opensearch, prefixes, ANCHOR, ANCHOR + timedelta(hours=1))
    assert len(day.findings) == 2
    for minutes in range(0, 60, 5):
        start = ANCHOR + timedelta(minutes=minutes)
        window = revise(opensearch, prefixes, start, start + timedelta(minutes=5))
        assert window.superseded == []
    findings = stored(opensearch, prefixes.findings)
    assert set(findings) == {f.id for f in day.findings}
    assert {f["status"] for f in findings.values()} == {ACTIVE}


def test_a_deployment_exception_suppresses_the_finding_and_names_itself(
    opensearch: OpenSearch,
    prefixes: Prefixes,
    tmp_path: Path,
    ledger: Ledger,
    jira: JiraStandIn,
    waits: Waits,
) -> None:
    index_events(opensearch, prefixes.logs, failures("a", 0, 12, "1m"), tmp_path)
    office = DetectionException.parse(
        {
            "name": "office-egress",
            "reason": "The office's NAT: every user's typos come from it",
            "match": {"client.ipAddress": ["203.0.113.0/24"]},
        },
        "test",
        origin="deployment",
    )
    ensure_findings_template(opensearch, prefixes.findings)
    revision = revise_findings(
        opensearch,
        prefixes.logs_index,
        prefixes.findings,
        [SPRAY],
        ANCHOR,
        ANCHOR + timedelta(minutes=15),
        evaluated_at=datetime.now(UTC),
        exceptions={SPRAY.id: [office]},
    )
    assert len(revision.findings) == 1 and revision.findings[0].exception == office
    [document] = stored(opensearch, prefixes.findings).values()
    assert document["status"] == SUPPRESSED
    assert document["exception"]["name"] == "office-egress"
    report = deliverer(ledger, jira, None, waits).deliver([Alert(document)])
    assert report.suppressed == 1 and jira.issues == {}
