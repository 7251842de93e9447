"""Freshness of the indexed CloudTrail records, judged on its own schedule like Okta's."""

from datetime import timedelta

import dagster as dg

from okta_pipeline.defs.aws.assets import opensearch_cloudtrail_events
from okta_pipeline.defs.opensearch.freshness import freshness_result, newest_published
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.lib.durations import spoken

CLOUDTRAIL_FRESHNESS = "newest_record_freshness"
# CloudTrail delivers about five minutes late, and the fetch waits for it: a looser bound.
CLOUDTRAIL_WARN = timedelta(minutes=30)
CLOUDTRAIL_FAIL = timedelta(hours=1, minutes=30)


@dg.asset_check(
    asset=opensearch_cloudtrail_events,
    name=CLOUDTRAIL_FRESHNESS,
    description=f"The newest indexed CloudTrail record is under {spoken(CLOUDTRAIL_FAIL)} old "
    f"(warns past {spoken(CLOUDTRAIL_WARN)}); evaluated every five minutes by its own schedule",
)
def newest_record_freshness(opensearch: OpenSearchResource) -> dg.AssetCheckResult:
    newest = newest_published(opensearch.client(), opensearch.cloudtrail_prefix, "eventTime")
    return freshness_result(
        newest,
        warn=CLOUDTRAIL_WARN,
        fail=CLOUDTRAIL_FAIL,
        stalled="the trail stopped delivering, or the run role cannot read its bucket (see the "
        "latest cloudtrail_events runs)",
    )


cloudtrail_freshness_job = dg.define_asset_job(
    "cloudtrail_freshness_check",
    selection=dg.AssetSelection.checks(newest_record_freshness),
    description="Evaluates how fresh the indexed CloudTrail records are",
)
cloudtrail_freshness_schedule = dg.ScheduleDefinition(
    name="cloudtrail_freshness_every_five_minutes",
    job=cloudtrail_freshness_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
