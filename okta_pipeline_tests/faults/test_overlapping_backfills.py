"""Two backfills over overlapping ranges, with the automation fetching, re-fetching, catching up
and loading the same windows beside them, all on one Dagster instance and one landing zone:
every window ends with exactly the simulator's events, landed and indexed once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline_tests.faults.outcome import landed_windows, measure, published_uuids
from okta_pipeline_tests.faults.processes import child, finished, stderr_of
from okta_pipeline_tests.okta.helpers import TOKEN, recent_window, running_simulator

ORG = SimulatedOrg(seed=59, events_per_minute=15)
# Three requests a second for the whole org's share: three runs fetching at once take turns.
SHARED_OKTA = SimulatorOptions(rate_limit_per_window=6, rate_limit_window_seconds=1)


def test_overlapping_backfills_beside_the_automation_converge(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, tmp_path: Path
) -> None:
    prefix = f"test-overlap-{uuid.uuid4().hex[:8]}"
    start, end = recent_window(hours_ago=2, span=timedelta(hours=26))
    first_range = (start, start + timedelta(hours=16))
    second_range = (start + timedelta(hours=8), end)
    home, landing, report = tmp_path / "dagster", tmp_path / "landing", tmp_path / "report.json"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    # Create the instance's storage once: three processes creating it at once race on its schema.
    with dg.DagsterInstance.from_config(str(home)):
        pass
    env = {"DAGSTER_HOME": str(home)}
    try:
        with running_simulator(SHARED_OKTA, source=ORG) as (app, base_url):
            common = [base_url, TOKEN, str(landing), opensearch_endpoint.url, prefix]
            backfills = [
                child("child", [a.isoformat(), b.isoformat(), *common], env)
                for a, b in (first_range, second_range)
            ]
            # The automation's clock runs over the last hour of the range: first
            # fetches, hourly re-fetches and the hourly catch-up of the day's missing windows.
            clock = [(end - timedelta(minutes=60)).isoformat(), end.isoformat(), "20"]
            automation = child("automation_child", [*common, *clock, str(report)], env)
            for run in backfills:
                assert finished(run, timeout=600) == 0, stderr_of(run)
            assert finished(automation, timeout=600) == 0, stderr_of(automation)
            over_budget = app.rate_limiter.rejected
        windows = landed_windows(landing) | {
            start + n * WINDOW for n in range(int((end - start) / WINDOW))
        }
        ranges = [(moment, moment + WINDOW) for moment in sorted(windows)]
        outcome = measure(
            "two overlapping backfills and the automation",
            published_uuids(ORG, ranges),
            LandingZone(landing),
            ranges,
            opensearch,
            prefix,
            over_budget,
        )
        requested = json.loads(report.read_text())
        assert outcome.clean, outcome
        # The automation did fetch and load windows the backfills were also writing.
        overlap = {
            datetime.strptime(key, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
            for key in requested["okta_system_log"]
        } & {m for m in windows if second_range[0] <= m < second_range[1]}
        assert overlap, requested
        assert requested["opensearch_okta_logs"], requested
    finally:
        drop_prefix(opensearch, prefix)
