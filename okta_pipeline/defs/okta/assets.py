"""`okta_system_log`: raw Okta events landed per 5-minute window, fetched a range at a time."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg

from okta_pipeline.defs.asset_attributes import HOLDS_PERSONAL_DATA, LANDING_FORMAT_VERSION, OWNERS
from okta_pipeline.defs.okta.automation import fetch_condition
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.partition_horizon import OKTA_RETENTION
from okta_pipeline.defs.partitions import PARTITION_FORMAT, five_minute_partitions
from okta_pipeline.defs.storage.resources import LandingZoneResource, location_metadata
from okta_pipeline.defs.window_results import (
    WindowCheck,
    WindowEvent,
    add_window_metadata,
    materialize_windows,
    tag_run,
    window_check_spec,
)
from okta_pipeline.lib.landing import split_into_windows
from okta_pipeline.lib.log_stream.reconcile import PolledUuids, PushComparison

DAY_OF_WINDOWS = 288
PUSH_AND_POLLING = "push_and_polling_agree"


@dg.asset(
    partitions_def=five_minute_partitions,
    pool="okta_api",
    # One run (and one bounded fetch) for up to a day of windows: Okta requests grow with
    # events/1000, not with the number of partitions.
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=fetch_condition(),
    group_name="okta",
    kinds={"okta"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    code_version=LANDING_FORMAT_VERSION,
    check_specs=[
        window_check_spec(
            PUSH_AND_POLLING,
            "okta_system_log",
            "Evaluated on the windows Okta's log stream delivered to: every event the stream "
            "delivered was also returned by polling (warns otherwise; the event is landed all "
            "the same). Reports the events only polling returned, which the stream dropped.",
        )
    ],
)
def okta_system_log(
    context: dg.AssetExecutionContext, okta: OktaResource, landing: LandingZoneResource
) -> Iterator[WindowEvent]:
    """A row is one Okta System Log event (a LogEvent: who did what, from where, with which
    outcome), as Okta sent it (only the JSON form normalized: compact, UTF-8). One gzipped
    JSON Lines file per 5-minute window, in a directory or under an S3 prefix.

    Re-running a window merges with what is already landed (union by uuid), so late events
    are added and nothing is lost.
    """
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    refuse_beyond_retention(start, end, datetime.now(UTC))
    client = okta.client()
    zone = landing.zone()
    fetched_at = datetime.now(UTC)
    polled = PolledUuids()
    checks: list[WindowCheck] = []
    try:
        writes, unplaceable = split_into_windows(
            zone, polled.recording(client.fetch_range(start, end)), start, end, fetched_at
        )
    finally:
        client.close()

    for write in writes:
        partition = write.start.strftime(PARTITION_FORMAT)
        compared = polled.compared_with_push(zone, write.start)
        if compared is not None:
            checks.append(push_and_polling_check(partition, compared))
        add_window_metadata(
            context,
            partition,
            {
                "dagster/partition_row_count": write.total,
                "new_events": write.added,
                "lag_p50_seconds": write.lag_p50_seconds,
                "lag_max_seconds": write.lag_max_seconds,
                "landed_file": location_metadata(zone.window_location(write.start)),
                "damaged_file_set_aside": write.set_aside,
            },
        )
    repaired = {w.start.strftime(PARTITION_FORMAT): w.set_aside for w in writes if w.set_aside}
    if repaired:
        context.log.warning(
            f"{len(repaired)} landed windows were damaged: their readable events were merged "
            f"with the re-fetch and the damaged files kept aside ({repaired})"
        )
    if unplaceable:
        path = zone.write_unplaceable(start, end, unplaceable)
        context.log.warning(
            f"{len(unplaceable)} events had no parseable `published` inside the range; kept in "
            f"{path} for inspection"
        )
    stats = client.stats
    context.log.info(
        f"Fetched {stats.events} events for {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
        f"in {stats.requests} Okta requests ({stats.rate_limited} rate-limited, "
        f"{stats.retries} retried); {sum(w.added for w in writes)} new across {len(writes)} windows"
    )
    tag_run(
        context,
        "okta",
        {
            "events_fetched": stats.events,
            "events_new": sum(w.added for w in writes),
            "requests": stats.requests,
            "pages": stats.pages,
            "rate_limited": stats.rate_limited,
            "retries": stats.retries,
            "wait_seconds": round(stats.waited_seconds, 3),
            "unplaceable_events": len(unplaceable),
        },
    )
    yield from materialize_windows(context, checks)


def push_and_polling_check(partition: str, compared: PushComparison) -> WindowCheck:
    """Push and polling should converge on the same events. Polling missing what the stream
    delivered warns: the event is landed from the stream, and a later fetch should return it
    (an event Okta had not made queryable yet); if it does not, polling misses events."""
    missed = compared.pushed_not_polled
    return WindowCheck(
        PUSH_AND_POLLING,
        partition,
        passed=missed == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{missed} of the {compared.pushed} events Okta's log stream delivered "
        "were not returned by polling. They are landed from the stream; re-fetch the window "
        "later (the lookback does): if they still are not returned, Okta's API misses events "
        "the stream has"
        if missed
        else None,
        metadata=compared.metadata(),
    )


def refuse_beyond_retention(start: datetime, end: datetime, now: datetime) -> None:
    """Okta answers a range older than its retention with no events: landed, those empty files
    would look like quiet windows. Such a run fails instead, naming the oldest window to use."""
    horizon = now - OKTA_RETENTION
    if start >= horizon:
        return
    oldest = (horizon + timedelta(minutes=5)).replace(second=0, microsecond=0)
    oldest -= timedelta(minutes=oldest.minute % 5)
    raise dg.Failure(
        description=(
            f"{start:%Y-%m-%d %H:%M} UTC is older than Okta's System Log retention "
            f"({OKTA_RETENTION.days} days): Okta no longer has these events, and landing the "
            f"windows empty would pass them off as quiet. Nothing was fetched or landed. "
            f"Backfill from {oldest.strftime(PARTITION_FORMAT)} on."
        ),
        metadata={
            "beyond_retention_until": horizon.isoformat(),
            "oldest_fetchable_partition": oldest.strftime(PARTITION_FORMAT),
            "range_end": end.isoformat(),
        },
        allow_retries=False,
    )
