"""`cloudtrail_events` (CloudTrail records landed per 5-minute window, from the trail's S3
objects) and `opensearch_cloudtrail_events` (those records indexed, with the load's checks)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from okta_pipeline.defs.asset_attributes import (
    HOLDS_AWS_PERSONAL_DATA,
    LANDING_FORMAT_VERSION,
    OWNERS,
)
from okta_pipeline.defs.aws.resources import CloudTrailResource
from okta_pipeline.defs.okta.assets import DAY_OF_WINDOWS
from okta_pipeline.defs.okta.automation import fetch_condition, follow_upstream
from okta_pipeline.defs.opensearch.range_load import (
    LoadConfig,
    LoadTarget,
    load_check_specs,
    load_landed_range,
)
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT, five_minute_partitions
from okta_pipeline.defs.storage.resources import LandingZoneResource, location_metadata
from okta_pipeline.defs.window_results import WindowEvent, add_window_metadata, tag_run
from okta_pipeline.lib.cloudtrail.index import (
    CLOUDTRAIL_LOGS,
    MAPPING_VERSION,
    index_template,
)
from okta_pipeline.lib.cloudtrail.landing import land_range
from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD
from okta_pipeline.lib.opensearch.index_setup import managed_template_name

# CloudTrail delivers about five minutes after the calls: fetch a window four minutes after it
# closes, and re-fetch the last hour every 15 minutes (off Okta's minutes) for late objects.
CLOUDTRAIL_LOOKBACK_CRON = "7-59/15 * * * *"


@dg.asset(
    partitions_def=five_minute_partitions,
    pool="cloudtrail",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=fetch_condition(settle_minutes=4, lookback_cron=CLOUDTRAIL_LOOKBACK_CRON),
    group_name="aws",
    kinds={"s3", "aws"},
    owners=OWNERS,
    tags=HOLDS_AWS_PERSONAL_DATA,
    code_version=LANDING_FORMAT_VERSION,
)
def cloudtrail_events(
    context: dg.AssetExecutionContext, cloudtrail: CloudTrailResource, landing: LandingZoneResource
) -> dg.MaterializeResult:
    """A row is one CloudTrail record (one AWS API call, console sign-in or service event), as
    AWS wrote it, landed by its `eventTime`: one gzipped JSON Lines file per 5-minute window
    beside the Okta events. A run reads the trail's objects that can hold its windows' records
    (delivered up to the delivery horizon after them), so one object feeds several windows.

    Re-running a window merges with what is already landed (union by eventID): objects
    delivered late are added, nothing is lost. Objects that are not CloudTrail logs are listed
    under `_malformed_objects/` and the rest of the window lands."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    trail = cloudtrail.trail()
    zone = landing.cloudtrail_zone()
    landed = land_range(zone, trail, start, end, datetime.now(UTC))
    for write in landed.writes:
        delivery = landed.deliveries[write.start]
        add_window_metadata(
            context,
            write.start.strftime(PARTITION_FORMAT),
            {
                "dagster/partition_row_count": write.total,
                "new_records": write.added,
                "objects": delivery.objects,
                "delivery_delay_p50_seconds": delivery.delay_p50_seconds,
                "delivery_delay_max_seconds": delivery.delay_max_seconds,
                "lag_max_seconds": write.lag_max_seconds,
                "landed_file": location_metadata(zone.window_location(write.start)),
                "damaged_file_set_aside": write.set_aside,
            },
        )
    if landed.malformed:
        context.log.warning(
            f"{len(landed.malformed)} trail objects are not CloudTrail logs and were skipped "
            f"(listed in {landed.malformed_listed_in}); the rest of their windows landed: "
            + "; ".join(f"{key}: {why}" for key, why in sorted(landed.malformed.items())[:5])
        )
    if landed.unplaceable:
        path = zone.write_unplaceable(start, end, landed.unplaceable)
        context.log.warning(
            f"{len(landed.unplaceable)} records had no parseable eventTime; kept in {path}"
        )
    new = sum(w.added for w in landed.writes)
    context.log.info(
        f"Read {landed.objects_read} trail objects ({landed.list_requests} list requests) for "
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC: {landed.records_in_range} records "
        f"in range, {new} new across {len(landed.writes)} windows"
    )
    tag_run(
        context,
        "cloudtrail",
        {
            "objects": landed.objects_read,
            "records": landed.records_in_range,
            "records_new": new,
            "malformed_objects": len(landed.malformed),
            "unplaceable_records": len(landed.unplaceable),
            "list_requests": landed.list_requests,
        },
    )
    return dg.MaterializeResult()


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[cloudtrail_events],
    pool="opensearch",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=follow_upstream(),
    group_name="aws",
    kinds={"opensearch"},
    owners=OWNERS,
    tags=HOLDS_AWS_PERSONAL_DATA,
    code_version=f"mapping-{MAPPING_VERSION}",
    check_specs=load_check_specs("opensearch_cloudtrail_events", CLOUDTRAIL_RECORD),
)
def opensearch_cloudtrail_events(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    opensearch: OpenSearchResource,
    landing: LandingZoneResource,
) -> Iterator[WindowEvent]:
    """A row is one CloudTrail record as a document of `cloudtrail-YYYY.MM.DD` (the day of its
    `eventTime`): `_id` = its eventID, `_source` = the record as AWS wrote it. The fields whose
    shape varies by API (`requestParameters`, `responseElements`, ...) stay in `_source`; what
    the identity link and the detections need is extracted into typed `okta_pipeline.*` fields.
    Re-runs and backfills converge to the same documents."""
    prefix = opensearch.cloudtrail_prefix
    target = LoadTarget(
        prefix=prefix,
        source=CLOUDTRAIL_LOGS,
        template_name=managed_template_name(prefix),
        template=index_template,
        mapping_version=MAPPING_VERSION,
        run_tag="cloudtrail_load",
    )
    yield from load_landed_range(context, config, opensearch, landing.cloudtrail_zone(), target)
