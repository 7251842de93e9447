"""`demo --sinks`: the demo's windows shipped to local stand-ins of CloudTrail Lake and
OpenObserve, and what each accepted (counted by the sink and, by id, by the stand-in)."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg

from okta_pipeline.cli.demo_secrets import demo_secret, environment
from okta_pipeline.cli.local_instance import QUIET
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.sinks.assets import cloudtrail_lake_okta_events, openobserve_okta_logs
from okta_pipeline.defs.sinks.resources import CloudTrailLakeResource, OpenObserveResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.defs.window_results import run_totals
from okta_pipeline.lib.landing import WINDOW
from okta_pipeline.lib.standins.cloudtrail_data import CloudTrailDataStandIn
from okta_pipeline.lib.standins.openobserve import OpenObserveStandIn

CHANNEL = "arn:aws:cloudtrail:us-east-1:123456789012:channel/okta-pipeline-demo"
ACCESS_KEY = "AKIADEMOSTANDIN00001"
OPENOBSERVE_USER = "demo@okta-pipeline.local"


def ship_to_standins(
    landing_root: Path, start: datetime, end: datetime, instance: dg.DagsterInstance
) -> dict[str, Any]:
    """Run both sinks over [start, end) against fresh stand-ins; their counts, by sink."""
    with ExitStack() as stack:
        stack.enter_context(
            demo_secret("AWS_SECRET_ACCESS_KEY")
        )  # any: the stand-in checks the key id
        stack.enter_context(environment({"AWS_ACCESS_KEY_ID": ACCESS_KEY}))
        password, password_env = stack.enter_context(demo_secret("OKTA_PIPELINE_DEMO_O2_PASSWORD"))
        lake = stack.enter_context(CloudTrailDataStandIn(CHANNEL, ACCESS_KEY))
        openobserve = stack.enter_context(OpenObserveStandIn(OPENOBSERVE_USER, password))
        result = dg.materialize(
            [cloudtrail_lake_okta_events, openobserve_okta_logs],
            resources={
                "landing": LandingZoneResource(root=str(landing_root)),
                "cloudtrail_lake": CloudTrailLakeResource(
                    channel_arn=CHANNEL, endpoint_url=lake.base_url
                ),
                "openobserve": OpenObserveResource(
                    url=openobserve.base_url, user=OPENOBSERVE_USER, password=password_env
                ),
            },
            tags={
                "dagster/asset_partition_range_start": start.strftime(PARTITION_FORMAT),
                "dagster/asset_partition_range_end": (end - WINDOW).strftime(PARTITION_FORMAT),
            },
            instance=instance,
            run_config=QUIET,
            raise_on_error=False,
        )
        totals = run_totals(instance, result.run_id)
        return {
            "cloudtrail_lake": {
                **_counts(totals, "cloudtrail_lake"),
                "stored_by_id": len(lake.accepted),
                "stored_twice": sum(1 for n in lake.accepted.values() if n > 1),
                "endpoint": lake.base_url,
            },
            "openobserve": {
                **_counts(totals, "openobserve"),
                "stored_by_id": len(openobserve.stored),
                "stored_twice": sum(1 for n in openobserve.stored.values() if n > 1),
                "endpoint": openobserve.base_url,
            },
            "dagster_run_id": result.run_id,
            "succeeded": result.success,
        }


def _counts(totals: dict[str, str], sink: str) -> dict[str, int]:
    keys = ("sent", "accepted", "already_accepted", "failed", "dead_lettered")
    return {key: int(totals.get(f"{sink}_{key}", 0)) for key in keys}
