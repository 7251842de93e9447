"""The sinks: the landed events of each window in a CloudTrail Lake channel
(`cloudtrail_lake_okta_events`) and an OpenObserve log stream (`openobserve_okta_logs`)."""

from collections.abc import Iterator

import dagster as dg

from okta_pipeline.defs.asset_attributes import HOLDS_PERSONAL_DATA, OWNERS
from okta_pipeline.defs.okta.assets import DAY_OF_WINDOWS, okta_system_log
from okta_pipeline.defs.okta.automation import follow_upstream
from okta_pipeline.defs.opensearch.range_load import LoadConfig
from okta_pipeline.defs.partitions import five_minute_partitions
from okta_pipeline.defs.sinks.resources import CloudTrailLakeResource, OpenObserveResource
from okta_pipeline.defs.sinks.shipping import ship_landed_range, sink_check_specs
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.defs.window_results import WindowEvent
from okta_pipeline.lib.sinks.cloudtrail_lake import MAPPING_VERSION


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[okta_system_log],
    pool="cloudtrail_lake",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=follow_upstream(),
    group_name="sinks",
    kinds={"aws", "cloudtrail"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    code_version=f"event-data-{MAPPING_VERSION}",
    check_specs=sink_check_specs("cloudtrail_lake_okta_events", "CloudTrail Lake"),
)
def cloudtrail_lake_okta_events(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    cloudtrail_lake: CloudTrailLakeResource,
    landing: LandingZoneResource,
) -> Iterator[WindowEvent]:
    """A row is one Okta event as an audit event of a CloudTrail Lake channel: its id and
    `eventData.UID` the Okta uuid, `eventName` its eventType (the README maps every field).
    Each event is sent once: what the channel accepted is recorded beside the landed windows,
    and re-runs and backfills send only what it lacks."""
    yield from ship_landed_range(
        context, config, cloudtrail_lake.destination(), "CloudTrail Lake", landing.zone()
    )


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[okta_system_log],
    pool="openobserve",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=follow_upstream(),
    group_name="sinks",
    kinds={"openobserve"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    code_version="record-1",
    check_specs=sink_check_specs("openobserve_okta_logs", "OpenObserve"),
)
def openobserve_okta_logs(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    openobserve: OpenObserveResource,
    landing: LandingZoneResource,
) -> Iterator[WindowEvent]:
    """A row is one Okta event as a record of an OpenObserve log stream: the event as landed,
    with `_timestamp` its `published`. Each event is sent once (what OpenObserve accepted is
    recorded beside the landed windows); events older than its ingest horizon are not sent,
    and their windows' checks say how to send them."""
    destination = openobserve.destination()
    try:
        yield from ship_landed_range(context, config, destination, "OpenObserve", landing.zone())
    finally:
        destination.client.close()
