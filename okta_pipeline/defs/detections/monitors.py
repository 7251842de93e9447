"""`detection_monitors`: the catalog kept in OpenSearch Alerting as monitors, without drift."""

from typing import Any

import dagster as dg

from okta_pipeline.defs.asset_attributes import HOLDS_NO_PERSONAL_DATA, OWNERS
from okta_pipeline.defs.detections.resources import DetectionsResource, MonitorsResource
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.window_results import without_empty
from okta_pipeline.lib.detections.catalog import catalog_digest, load_catalog
from okta_pipeline.lib.detections.model import Detection
from okta_pipeline.lib.monitors.channel import (
    channel_id,
    ensure_receiver_channel,
    has_notifications,
)
from okta_pipeline.lib.monitors.compile import (
    COMPILER_VERSION,
    MonitorOptions,
    compile_monitor,
    pipeline_only_reason,
)
from okta_pipeline.lib.monitors.sync import MonitorSync, has_alerting
from okta_pipeline.lib.opensearch.okta_index import daily_indices

MONITORS_MATCH_CATALOG = "monitors_match_catalog"
NO_ALERTING = (
    "The cluster has no Alerting plugin: no monitor was synced. Detection still runs in the "
    "pipeline (okta_detections) and alerts still go out from its findings; install Alerting "
    "(Amazon OpenSearch Service has it) to watch the detections in Dashboards too."
)


def monitored(detections: DetectionsResource) -> list[Detection]:
    """Every enabled detection but the disabled ones (`only` narrows a backfill, not this)."""
    return [d for d in load_catalog().enabled() if d.id not in detections.disabled]


def desired_monitors(
    opensearch: OpenSearchResource, detections: DetectionsResource, monitors: MonitorsResource
) -> list[dict[str, Any]]:
    """The monitors this deployment should have, for the detections it runs."""
    owner = opensearch.index_prefix
    options = MonitorOptions(
        indices=daily_indices(owner),
        owner=owner,
        lag=monitors.lag(),
        channel_id=channel_id(owner) if monitors.receiver_url else None,
        enabled=monitors.enabled,
    )
    return [body for d in monitored(detections) if (body := compile_monitor(d, options))]


@dg.asset(
    pool="opensearch",
    automation_condition=dg.AutomationCondition.on_missing()
    | dg.AutomationCondition.code_version_changed(),
    code_version=f"{catalog_digest()}-{COMPILER_VERSION}",
    group_name="detections",
    kinds={"opensearch"},
    owners=OWNERS,
    tags=HOLDS_NO_PERSONAL_DATA,
)
def detection_monitors(
    context: dg.AssetExecutionContext,
    opensearch: OpenSearchResource,
    detections: DetectionsResource,
    monitors: MonitorsResource,
) -> dg.MaterializeResult:
    """A row is one OpenSearch Alerting monitor: one bucket-level monitor per single-event and
    threshold detection of the catalog, for the
    Alerting UI in Dashboards; stateful detections stay in the pipeline. Re-syncing changes
    nothing unless the catalog did (or someone edited a monitor), and updates keep trigger ids
    so that active alerts stay active. Alerts reach Jira and Slack from the pipeline's findings,
    so monitors carry no action unless a receiver URL is set."""
    client = opensearch.client()
    if not has_alerting(client):
        context.log.warning(NO_ALERTING)
        return dg.MaterializeResult(metadata={"alerting": "not installed", "synced": False})
    owner = opensearch.index_prefix
    if monitors.receiver_url:
        if not has_notifications(client):
            raise RuntimeError(
                "OKTA_PIPELINE_RECEIVER_URL is set, but the cluster has no Notifications plugin "
                "for monitors to post through: install it, or unset the receiver URL"
            )
        ensure_receiver_channel(client, owner, monitors.receiver_url, monitors.receiver_token())
    report = MonitorSync(client, owner).sync(desired_monitors(opensearch, detections, monitors))
    pipeline_only = sorted(d.id for d in monitored(detections) if pipeline_only_reason(d))
    context.log.info(
        "Monitors: %s; pipeline only: %s",
        ", ".join(f"{k} {v}" for k, v in report.summary().items()),
        ", ".join(pipeline_only) or "none",
    )
    return dg.MaterializeResult(
        metadata=without_empty(
            {
                **report.summary(),
                "created_ids": report.created,
                "updated_ids": report.updated,
                "deleted_ids": report.deleted,
                "pipeline_only": pipeline_only,
                "posts_to_receiver": bool(monitors.receiver_url),
            }
        )
    )


@dg.asset_check(
    asset=detection_monitors,
    name=MONITORS_MATCH_CATALOG,
    description="The cluster's monitors of this deployment are exactly the catalog's "
    "monitor-expressible detections at their current spec, none edited by hand",
)
def monitors_match_catalog(
    opensearch: OpenSearchResource, detections: DetectionsResource, monitors: MonitorsResource
) -> dg.AssetCheckResult:
    client = opensearch.client()
    if not has_alerting(client):
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, description=NO_ALERTING
        )
    desired = desired_monitors(opensearch, detections, monitors)
    differences = MonitorSync(client, opensearch.index_prefix).differences(desired)
    return dg.AssetCheckResult(
        passed=not differences,
        description=(
            "; ".join(f"{k}: {v}" for k, v in sorted(differences.items()))
            + " (materialize detection_monitors to sync)"
            if differences
            else None
        ),
        metadata={"monitors": len(desired), "differing": len(differences)},
    )
