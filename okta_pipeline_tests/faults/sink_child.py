"""A sink run in a process of its own, for the fault tests to kill:
`python -m okta_pipeline_tests.faults.sink_child START END LANDING CHANNEL_ARN ENDPOINT`.

Ships the landed windows of [START, END) to a CloudTrail Lake channel through Dagster in one
run, as a backfill does; the AWS credentials come from the environment."""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import datetime

import dagster as dg

from okta_pipeline.defs.sinks.assets import cloudtrail_lake_okta_events
from okta_pipeline.defs.sinks.resources import CloudTrailLakeResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline_tests.faults.automation import QUIET
from okta_pipeline_tests.okta.helpers import range_tags


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    for name in ("start", "end", "landing", "channel_arn", "endpoint"):
        parser.add_argument(name)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    result = dg.materialize(
        [cloudtrail_lake_okta_events],
        resources={
            "landing": LandingZoneResource(root=args.landing),
            "cloudtrail_lake": CloudTrailLakeResource(
                channel_arn=args.channel_arn, endpoint_url=args.endpoint
            ),
        },
        tags=range_tags(datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)),
        run_config=QUIET,
        raise_on_error=False,
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
