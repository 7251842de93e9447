"""A pipeline run in a process of its own, for the fault tests to kill or run side by side:
`python -m okta_pipeline_tests.faults.child START END OKTA_URL TOKEN LANDING OPENSEARCH PREFIX
[--chunk-bytes N]`.

Fetches, lands and loads [START, END) through Dagster in one run, as a backfill does. With
DAGSTER_HOME set, the run is recorded in that instance (where the automation sees it)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import datetime

import dagster as dg

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline_tests.faults.automation import QUIET
from okta_pipeline_tests.okta.helpers import range_tags


def resources(
    okta_url: str, token: str, landing: str, url: str, prefix: str, chunk_bytes: int
) -> dict[str, object]:
    return {
        "okta": OktaResource(base_url=okta_url, api_token=token),
        "landing": LandingZoneResource(root=landing),
        "opensearch": OpenSearchResource(
            url=url, index_prefix=prefix, bulk_chunk_bytes=chunk_bytes
        ),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    for name in ("start", "end", "okta_url", "token", "landing", "opensearch", "prefix"):
        parser.add_argument(name)
    parser.add_argument("--chunk-bytes", type=int, default=5 * 1024 * 1024)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = dg.materialize(
        [okta_system_log, opensearch_okta_logs],
        instance=instance,
        resources=resources(
            args.okta_url, args.token, args.landing, args.opensearch, args.prefix, args.chunk_bytes
        ),
        tags=range_tags(datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)),
        run_config=QUIET,
        raise_on_error=False,
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
