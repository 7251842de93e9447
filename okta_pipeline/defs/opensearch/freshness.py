"""Freshness of the indexed events, judged on its own schedule: a stalled pipeline turns red
even when nothing runs, and a historical backfill never fails it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.lib.durations import spoken
from okta_pipeline.lib.opensearch.okta_index import daily_indices

FRESHNESS = "newest_event_freshness"
# How stale the newest indexed event may be before the check warns, then fails.
FRESHNESS_WARN = timedelta(minutes=20)
FRESHNESS_FAIL = timedelta(hours=1)


@dg.asset_check(
    asset=opensearch_okta_logs,
    name=FRESHNESS,
    description=f"The newest indexed event is under {spoken(FRESHNESS_FAIL)} old (warns past "
    f"{spoken(FRESHNESS_WARN)}); evaluated every five minutes by its own schedule, so it turns red "
    "when the pipeline stops, and loads of history never affect it",
)
def newest_event_freshness(opensearch: OpenSearchResource) -> dg.AssetCheckResult:
    return freshness_result(newest_published(opensearch.client(), opensearch.index_prefix))


freshness_job = dg.define_asset_job(
    "okta_freshness_check",
    selection=dg.AssetSelection.checks(newest_event_freshness),
    description="Evaluates how fresh the indexed Okta events are",
)
freshness_schedule = dg.ScheduleDefinition(
    name="okta_freshness_every_five_minutes",
    job=freshness_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def newest_published(
    client: OpenSearch, prefix: str, time_field: str = "published"
) -> datetime | None:
    """The newest `time_field` in the prefix's daily indices (None when there are none)."""
    response: dict[str, Any] = client.search(
        index=daily_indices(prefix),
        body={"size": 0, "aggs": {"newest": {"max": {"field": time_field}}}},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    value = response.get("aggregations", {}).get("newest", {}).get("value")
    return datetime.fromtimestamp(value / 1000, UTC) if value else None


def freshness_result(
    newest: datetime | None,
    now: datetime | None = None,
    warn: timedelta = FRESHNESS_WARN,
    fail: timedelta = FRESHNESS_FAIL,
    stalled: str = "Okta is unreachable (see the latest okta_system_log runs)",
) -> dg.AssetCheckResult:
    age = (now or datetime.now(UTC)) - newest if newest else None
    metadata: dict[str, Any] = {"newest_published": newest.isoformat() if newest else "none"}
    if age is not None:
        metadata["age_minutes"] = round(age.total_seconds() / 60, 1)
    if age is not None and age <= warn:
        return dg.AssetCheckResult(passed=True, metadata=metadata)
    failing = age is None or age > fail
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR if failing else dg.AssetCheckSeverity.WARN,
        description="no event indexed yet: is the automation sensor running?"
        if age is None
        else f"the newest indexed event is {_rounded(age)} old: the pipeline has stalled, or "
        f"{stalled}",
        metadata=metadata,
    )


def _rounded(age: timedelta) -> str:
    return spoken(timedelta(minutes=max(1, round(age.total_seconds() / 60))))
