"""Runs killed with SIGKILL mid-fetch and mid-load, then run again: no event lost, none
doubled, no Okta request over the budget. The pipeline runs in a child process of its own,
against the simulator over a socket and the real node."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline_tests.faults.outcome import measure, published_uuids
from okta_pipeline_tests.faults.processes import child, finished, kill_when, stderr_of
from okta_pipeline_tests.okta.helpers import TOKEN, running_simulator, weekday_noon_range
from okta_pipeline_tests.opensearch.loading_helpers import count, some_indexed

# Two requests a second at the default half share: a fetch of ~20 pages takes ~10 s to kill.
SLOW_OKTA = SimulatorOptions(rate_limit_per_window=4, rate_limit_window_seconds=1)
ORG = SimulatedOrg(seed=71, events_per_minute=60)


@pytest.mark.parametrize("killed_during", ["fetch", "load"])
def test_a_run_killed_then_run_again_loses_and_doubles_nothing(
    killed_during: str,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    tmp_path: Path,
) -> None:
    prefix = f"test-killed-{killed_during}-{os.getpid()}"
    start, end = weekday_noon_range(timedelta(hours=6))
    zone = LandingZone(tmp_path)
    try:
        with running_simulator(SLOW_OKTA, source=ORG) as (app, base_url):
            args = [start.isoformat(), end.isoformat(), base_url, TOKEN, str(tmp_path)]
            args += [opensearch_endpoint.url, prefix]
            first = child("child", args)
            if killed_during == "fetch":
                kill_when(first, lambda: app.stats.log_requests >= 5, 120, "its fifth request")
                partial = len(list(zone.iter_window_events(start, end)))
            else:
                kill_when(first, lambda: some_indexed(opensearch, prefix), 180, "the load")
                partial = count(opensearch, prefix)
            again = child("child", args)
            assert finished(again, timeout=300) == 0, stderr_of(again)
            over_budget = app.rate_limiter.rejected
        truth = published_uuids(ORG, [(start, end)])
        outcome = measure(
            f"SIGKILL mid-{killed_during}, run again",
            truth,
            zone,
            [(start, end)],
            opensearch,
            prefix,
            over_budget,
        )
        assert len(truth) > 10_000
        assert 0 < partial < len(truth), f"killed mid-{killed_during}: {partial} of {len(truth)}"
        assert outcome.clean, outcome
    finally:
        drop_prefix(opensearch, prefix)
