"""Backfill: one simulated day end to end through Dagster (fetch, land, load, checks), at two
sizes, to show wall time, Okta requests, Dagster runs and whether peak memory stays flat.

The simulator runs in this process with a roomy rate limit, so the wall time measures the
pipeline; what the same requests would take at a real org's limit is computed alongside.
"""

from __future__ import annotations

import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from bench.measure import run_child, table
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.index_setup import drop_prefix

DAY = datetime(2026, 11, 17, tzinfo=UTC)  # a Tuesday
TOKEN = "bench-token"  # noqa: S105 - the simulator's own throwaway token
REAL_ORG_REQUESTS_PER_MINUTE = 25  # an Enterprise org's 50/min, at the default 50% share


def run(client: OpenSearch, opensearch_url: str, quick: bool, tmp_root: Path) -> dict[str, Any]:
    sizes = (20_000, 80_000) if quick else (250_000, 1_000_000)
    rows = []
    for events_per_day in sizes:
        org = SimulatedOrg(seed=63, events_per_minute=events_per_day / 1440)
        options = SimulatorOptions(rate_limit_per_window=10_000, api_tokens=frozenset({TOKEN}))
        prefix = f"bench-backfill-{events_per_day}"
        landing = tmp_root / f"landing-{events_per_day}"
        with SimulatorServer(build_app(options, source=org)) as server:
            try:
                result, peak = run_child(
                    "bench.pipeline_child",
                    [
                        "backfill",
                        "--start",
                        DAY.isoformat(),
                        "--end",
                        (DAY + timedelta(days=1)).isoformat(),
                        "--landing",
                        str(landing),
                        "--opensearch",
                        opensearch_url,
                        "--prefix",
                        prefix,
                        "--okta-url",
                        server.base_url,
                        "--token",
                        TOKEN,
                    ],
                )
            finally:
                drop_prefix(client, prefix)
                shutil.rmtree(landing, ignore_errors=True)
        if result["documents"] != result["events"]:
            raise RuntimeError(f"backfill lost events: {result}")
        rows.append(
            {
                **result,
                "target_events_per_day": events_per_day,
                "peak_rss_mb": peak,
                "events_per_second": round(result["events"] / result["seconds"], 1),
                "minutes_at_real_org_limit": round(
                    math.ceil(result["events"] / 1000) / REAL_ORG_REQUESTS_PER_MINUTE, 1
                ),
            }
        )
    return {
        "day": DAY.date().isoformat(),
        "runs": rows,
        "real_org_requests_per_minute": REAL_ORG_REQUESTS_PER_MINUTE,
    }


def render(result: dict[str, Any]) -> str:
    body = table(
        f"Backfill of one simulated day ({result['day']}) through Dagster: "
        "fetch, land, load, checks",
        [
            "events",
            "seconds",
            "events/s",
            "Okta req",
            "runs",
            "checks passed",
            "peak MB",
            f"min at {result['real_org_requests_per_minute']} req/min",
        ],
        [
            [
                r["events"],
                r["seconds"],
                r["events_per_second"],
                r["okta_requests"],
                r["dagster_runs"],
                f"{r['checks_passed']}/{r['checks']}",
                r["peak_rss_mb"],
                r["minutes_at_real_org_limit"],
            ]
            for r in result["runs"]
        ],
    )
    return body
