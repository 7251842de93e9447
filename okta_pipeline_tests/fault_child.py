"""A pipeline run in a process of its own, for the fault tests to kill:
`python -m okta_pipeline_tests.fault_child START END OKTA_URL TOKEN LANDING OPENSEARCH PREFIX`.

Fetches, lands and loads [START, END) through Dagster in one run, as a backfill does."""

from __future__ import annotations

import sys
import warnings
from datetime import datetime

import dagster as dg

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import WINDOW


def main(
    start: str, end: str, okta_url: str, token: str, landing: str, url: str, prefix: str
) -> int:
    warnings.filterwarnings("ignore")
    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end) - WINDOW
    result = dg.materialize(
        [okta_system_log, opensearch_okta_logs],
        resources={
            "okta": OktaResource(base_url=okta_url, api_token=token),
            "landing": LandingZoneResource(root=landing),
            "opensearch": OpenSearchResource(url=url, index_prefix=prefix),
        },
        tags={
            "dagster/asset_partition_range_start": first.strftime(PARTITION_FORMAT),
            "dagster/asset_partition_range_end": last.strftime(PARTITION_FORMAT),
        },
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        raise_on_error=False,
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:8]))
