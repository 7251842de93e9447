"""The automation, in a process of its own, evaluated over a stretch of simulated time:
`python -m okta_pipeline_tests.faults.automation_child OKTA_URL TOKEN LANDING OPENSEARCH PREFIX
FIRST LAST STEP_MINUTES REPORT`.

At each evaluation time from FIRST to LAST, the project's automation conditions are evaluated
against the instance in DAGSTER_HOME (which the backfills running beside it also write to), and
what they request is materialized, as the daemon would launch it. Then it goes on until nothing
more is requested. REPORT receives the requested partitions per asset, as JSON."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline_tests.faults.child import QUIET, range_tags, resources

ASSETS = (okta_system_log, opensearch_okta_logs)
STEP = timedelta(minutes=5)


def contiguous(keys: list[str]) -> Iterator[tuple[datetime, datetime]]:
    """Runs of consecutive partition keys, as (first, last) window starts."""
    moments = sorted(datetime.strptime(key, PARTITION_FORMAT) for key in keys)
    if not moments:
        return
    first = previous = moments[0]
    for moment in moments[1:]:
        if moment - previous != STEP:
            yield first, previous
            first = moment
        previous = moment
    yield first, previous


def main(argv: list[str]) -> int:
    okta_url, token, landing, url, prefix, first, last, step, report = argv
    warnings.filterwarnings("ignore")
    chosen = resources(okta_url, token, landing, url, prefix, 5 * 1024 * 1024)
    defs = dg.Definitions(assets=list(ASSETS), resources=chosen)
    instance = dg.DagsterInstance.get()
    requested: dict[str, list[str]] = {asset.key.to_user_string(): [] for asset in ASSETS}
    cursor = None
    moment, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    quiet_rounds = 0
    while quiet_rounds < 2:
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=moment
        )
        cursor = result.cursor
        launched = 0
        for asset in ASSETS:
            keys = sorted(str(key) for key in result.get_requested_partitions(asset.key))
            requested[asset.key.to_user_string()] += keys
            for start, stop in contiguous(keys):
                launched += 1
                dg.materialize(
                    [asset],
                    instance=instance,
                    resources=chosen,
                    tags=range_tags(start, stop),
                    run_config=QUIET,
                    raise_on_error=False,
                )
        if moment < end:
            moment = min(end, moment + timedelta(minutes=int(step)))
        else:
            quiet_rounds = quiet_rounds + 1 if not launched else 0
            moment += timedelta(seconds=30)
    Path(report).write_text(json.dumps(requested))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
