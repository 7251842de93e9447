"""The `alert_deliveries` asset in Dagster: its blocking check, pending findings delivered once
credentials are fixed, secrets kept out of the run, and Slack through an incoming webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.alerts.assets import DESTINATIONS_ACCEPTING, _findings, alert_deliveries
from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.window_results import run_totals
from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.detections.findings import ensure_findings_template, write_findings
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline_tests.alerts.helpers import (
    CHANNEL,
    JIRA_EMAIL,
    JIRA_TOKEN,
    SLACK_TOKEN,
    WINDOW,
    finding,
)
from okta_pipeline_tests.opensearch.loading_helpers import resource
from okta_pipeline_tests.stored_events import Prefixes

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def window_findings(opensearch: OpenSearch, prefixes: Prefixes) -> list[str]:
    """Three findings in WINDOW's partition (two high, one medium) and one an hour later."""
    made = [
        finding(user="alice@example.com"),
        finding(user="bob@example.com"),
        finding("okta_api_token_created", user="carol@example.com"),
        finding(user="dave@example.com", window=WINDOW + timedelta(hours=1)),
    ]
    ensure_findings_template(opensearch, prefixes.findings)
    write_findings(opensearch, prefixes.findings, made, datetime.now(UTC), prefixes.logs_index)
    opensearch.indices.refresh(index=f"{prefixes.findings}-*")
    return [f.id for f in made]


def deliver(
    instance: dg.DagsterInstance,
    endpoint: OpenSearchSettings,
    prefixes: Prefixes,
    alerts: AlertsResource,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [alert_deliveries],
        resources={
            "opensearch": resource(endpoint, prefixes.logs, findings_prefix=prefixes.findings),
            "alerts": alerts,
        },
        partition_key=WINDOW.strftime(PARTITION_FORMAT),
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
    )


def check_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == DESTINATIONS_ACCEPTING
    ]
    return evaluation


def test_refused_credentials_fail_the_check_and_the_fixed_ones_deliver_what_was_pending(
    instance: dg.DagsterInstance,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    window_findings: list[str],
    jira: JiraStandIn,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger_index = prefixes.findings.replace("findings", "ledger")
    wrong_token = "wrong-jira-token-0b9a2f"
    monkeypatch.setenv("TEST_JIRA_TOKEN", wrong_token)
    monkeypatch.setenv("TEST_SLACK_TOKEN", SLACK_TOKEN)
    alerts = AlertsResource(
        jira_base_url=jira.base_url,
        jira_project_key="SEC",
        jira_email=JIRA_EMAIL,
        jira_api_token=dg.EnvVar("TEST_JIRA_TOKEN"),
        slack_bot_token=dg.EnvVar("TEST_SLACK_TOKEN"),
        slack_channel=CHANNEL,
        slack_api_url=slack.base_url,
        ledger_index=ledger_index,
    )
    try:
        refused = deliver(instance, opensearch_endpoint, prefixes, alerts)
        check = check_of(refused)
        assert not check.passed and check.severity is dg.AssetCheckSeverity.ERROR
        assert "Jira answered 401" in str(check.description)
        assert "Check the Jira email and API token" in str(check.description)
        assert not refused.success, "a failed blocking check stops the run"
        assert jira.issues == {} and len(slack.messages) == 3, "Slack still got its share"

        monkeypatch.setenv("TEST_JIRA_TOKEN", JIRA_TOKEN)
        fixed = deliver(instance, opensearch_endpoint, prefixes, alerts)
        assert fixed.success and check_of(fixed).passed
        totals = run_totals(instance, fixed.run_id)
        assert totals["alerts_jira_created"] == "2" and totals["alerts_slack_sent"] == "0"
        assert totals["alerts_retried_from_earlier_runs"] == "2"
        assert totals["alerts_already_sent"] == "3"
        assert len(jira.issues) == 2 and len(slack.messages) == 3

        for result in (refused, fixed):
            run = instance.get_run_by_id(result.run_id)
            assert run is not None
            recorded = [str(run.run_config)] + [
                str(record) for record in instance.all_logs(result.run_id)
            ]
            for text in recorded:
                for secret in (wrong_token, JIRA_TOKEN, SLACK_TOKEN):
                    assert secret not in text
    finally:
        opensearch.indices.delete(index=ledger_index, params={"ignore_unavailable": "true"})


def test_an_incoming_webhook_gets_block_kit_messages_once_without_threads(
    instance: dg.DagsterInstance,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    window_findings: list[str],
    slack: SlackStandIn,
) -> None:
    ledger_index = prefixes.findings.replace("findings", "ledger")
    alerts = AlertsResource(slack_webhook_url=slack.webhook_url, ledger_index=ledger_index)
    try:
        first = deliver(instance, opensearch_endpoint, prefixes, alerts)
        assert first.success and check_of(first).passed
        assert len(slack.messages) == 3
        assert all(m.via == "webhook" and m.thread_ts is None for m in slack.messages)
        assert all(m.blocks and m.blocks[0]["type"] == "header" for m in slack.messages)
        assert check_of(first).metadata["not_configured"].value == {"jira": 2}
        again = deliver(instance, opensearch_endpoint, prefixes, alerts)
        assert again.success and len(slack.messages) == 3
        ledger = Ledger(opensearch, ledger_index)
        assert ledger.pending_findings(datetime.now(UTC) - timedelta(days=1)) == []
    finally:
        opensearch.indices.delete(index=ledger_index, params={"ignore_unavailable": "true"})


def test_every_finding_and_every_pending_delivery_is_read_past_a_search_page(
    opensearch: OpenSearch, prefixes: Prefixes, ledger: Ledger
) -> None:
    """More than a search's 10,000: a backlog must not crowd out the range's new findings."""
    ensure_findings_template(opensearch, prefixes.findings)
    made = [finding(user=f"user{n}@example.com") for n in range(10_050)]
    write_findings(opensearch, prefixes.findings, made, datetime.now(UTC), prefixes.logs_index)
    opensearch.indices.refresh(index=f"{prefixes.findings}-*")
    found = _findings(opensearch, prefixes.findings, WINDOW, WINDOW + timedelta(minutes=5), [])
    assert {f["finding_id"] for f in found} == {f.id for f in made}

    claimed = datetime.now(UTC).isoformat()
    claims = "".join(
        json.dumps({"create": {"_index": ledger.index, "_id": f"{f.id}:jira"}})
        + "\n"
        + json.dumps(
            {"finding_id": f.id, "destination": "jira", "status": "pending", "claimed_at": claimed}
        )
        + "\n"
        for f in made
    )
    assert not opensearch.bulk(body=claims, params={"refresh": "true"})["errors"]
    pending = ledger.pending_findings(datetime.now(UTC) - timedelta(days=1))
    assert pending == sorted(f.id for f in made)
