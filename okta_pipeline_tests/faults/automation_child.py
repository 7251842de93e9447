"""The automation, in a process of its own, over a stretch of simulated time:
`python -m okta_pipeline_tests.faults.automation_child OKTA_URL TOKEN LANDING OPENSEARCH PREFIX
FIRST LAST STEP_MINUTES REPORT`.

At each evaluation time from FIRST to LAST, the project's automation conditions are evaluated
against the instance in DAGSTER_HOME (which the backfills running beside it also write to), and
what they request is launched until nothing more is. REPORT receives the requested partitions
per asset, as JSON."""

from __future__ import annotations

import json
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline_tests.faults.automation import Automation
from okta_pipeline_tests.faults.child import resources


def main(argv: list[str]) -> int:
    okta_url, token, landing, url, prefix, first, last, step, report = argv
    warnings.filterwarnings("ignore")
    assets = [okta_system_log, opensearch_okta_logs]
    chosen = resources(okta_url, token, landing, url, prefix, 5 * 1024 * 1024)
    automation = Automation(
        dg.Definitions(assets=assets, resources=chosen), assets, chosen, dg.DagsterInstance.get()
    )
    moment, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    while moment < end:
        automation.tick(moment)
        moment += timedelta(minutes=int(step))
    automation.tick(end)
    Path(report).write_text(json.dumps({k: sorted(v) for k, v in automation.requested.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
