"""`alert_deliveries`: each new finding to Jira and Slack, exactly once, grouped by incident."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.asset_attributes import ALERT_FORMAT_VERSION, HOLDS_PERSONAL_DATA, OWNERS
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.okta.assets import DAY_OF_WINDOWS
from okta_pipeline.defs.okta.automation import follow_upstream
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import five_minute_partitions
from okta_pipeline.defs.window_results import tag_run, without_empty
from okta_pipeline.lib.alerts.delivery import Deliverer, DeliveryReport
from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.alerts.messages import Alert
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.opensearch.paging import PAGE_SIZE, all_hits

DESTINATIONS_ACCEPTING = "destinations_accepting"

# Deliver a window's findings once they are written; findings of older windows (a detection
# backfilled over history) are delivered only by a backfill of this asset.
deliver_condition = follow_upstream(after_blocking_checks=True)


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[okta_detections],
    pool="alerts",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=deliver_condition,
    group_name="alerts",
    kinds={"jira", "slack"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    code_version=ALERT_FORMAT_VERSION,
    check_specs=[
        dg.AssetCheckSpec(
            DESTINATIONS_ACCEPTING,
            asset="alert_deliveries",
            blocking=True,
            description="Jira and Slack accepted every delivery; a refusal (credentials, "
            "permissions, a missing project) fails, and its findings stay pending",
        )
    ],
)
def alert_deliveries(
    context: dg.AssetExecutionContext, opensearch: OpenSearchResource, alerts: AlertsResource
) -> dg.MaterializeResult:
    """A row is one delivery of a finding to one destination (a Jira issue or a comment on an
    open one, a Slack message), recorded in the ledger (`okta-alert-ledger`) so that each is
    sent exactly once. Suppressed findings are not sent; an alerted finding that was later
    superseded gets one notice on its issue or thread.
    Each run also retries the deliveries earlier runs left pending."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    delivered = deliver_findings(opensearch, alerts, start, end)
    report, destinations, pending = delivered.report, delivered.destinations, delivered.pending
    if report.not_configured:
        context.log.info(
            "Routes name destinations this deployment does not configure: "
            f"{report.not_configured} (findings per destination); configure them to deliver"
        )
    if delivered.no_longer_retried:
        context.log.warning(
            f"{delivered.no_longer_retried} deliveries were left pending more than "
            f"{alerts.pending_days} days ago and are no longer retried: materialize "
            "alert_deliveries again over their windows (or raise pending_days) to send them"
        )
    problems = {**report.unavailable, **report.refused}
    tag_run(
        context,
        "alerts",
        {
            **report.summary(),
            "already_sent": report.already_sent,
            "suppressed": report.suppressed,
            "superseded_noticed": report.superseded_noticed,
            "retried_from_earlier_runs": len(pending),
        },
    )
    # The deliveries of a run span windows (it retries what earlier runs left pending): their
    # counts are the run's, not any one window's.
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name=DESTINATIONS_ACCEPTING,
                passed=not problems,
                severity=dg.AssetCheckSeverity.ERROR
                if report.refused
                else dg.AssetCheckSeverity.WARN,
                description="; ".join(problems.values()) or None,
                metadata=without_empty(
                    {
                        "pending": report.pending,
                        "in_flight": report.in_flight,
                        "waiting_for_earlier_finding": report.waiting,
                        "destinations": sorted(destinations),
                        "not_configured": report.not_configured,
                        "pending_no_longer_retried": delivered.no_longer_retried,
                    }
                ),
            )
        ],
    )


@dataclass(frozen=True)
class Delivered:
    report: DeliveryReport
    destinations: frozenset[str]
    pending: list[str]
    """Findings earlier runs left pending, retried by this one."""
    no_longer_retried: int = 0
    """Deliveries left pending longer than `pending_days` ago, which no run retries."""


def deliver_findings(
    opensearch: OpenSearchResource, alerts: AlertsResource, start: datetime, end: datetime
) -> Delivered:
    """Deliver the findings of [start, end) (and what earlier runs left pending) exactly once:
    what the asset does per range of windows, and the log stream's drain for the windows it
    wrote."""
    client = opensearch.client()
    settings = alerts.settings()
    ledger = Ledger(client, alerts.ledger_index)
    ledger.ensure_index(opensearch.replicas)
    since = datetime.now(UTC) - timedelta(days=alerts.pending_days)
    pending = ledger.pending_findings(since)
    found = _findings(client, opensearch.findings_prefix, start, end, pending)
    destinations = settings.destinations()
    try:
        deliverer = Deliverer(
            ledger,
            destinations,
            routes=settings.routes,
            suppression=settings.suppression,
            dashboards_url=settings.dashboards_url,
            logs_index=daily_indices(opensearch.index_prefix),
        )
        report = deliverer.deliver(Alert(document) for document in found)
    finally:
        destinations.close()
    return Delivered(report, frozenset(destinations.names()), pending, ledger.pending_before(since))


def _findings(
    client: OpenSearch,
    prefix: str,
    start: datetime,
    end: datetime,
    pending: list[str],
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """The findings of [start, end), those a detection run over [start, end) wrote or
    superseded in other windows, and those earlier runs left pending: all of them, page by
    page (a backlog of pending findings must not crowd out new ones)."""
    should: list[dict[str, Any]] = [
        {"range": {"window.start": {"gte": start.isoformat(), "lt": end.isoformat()}}},
        {
            "bool": {
                "filter": [
                    {"range": {"evaluated_over.start": {"lt": end.isoformat()}}},
                    {"range": {"evaluated_over.end": {"gt": start.isoformat()}}},
                ]
            }
        },
    ]
    if pending:
        should.append({"ids": {"values": pending}})
    hits = all_hits(
        client,
        daily_indices(prefix),
        {
            "query": {"bool": {"should": should, "minimum_should_match": 1}},
            "sort": [{"window.start": "asc"}, {"finding_id": "asc"}],
        },
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        page_size=page_size,
    )
    return [hit["_source"] for hit in hits]
