"""Runs killed with SIGKILL mid-fetch and mid-load, then run again: no event lost, none
doubled, no Okta request over the budget. The pipeline runs in a child process of its own,
against the simulator over a socket and the real node."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline_tests.okta.helpers import TOKEN, recent_window, running_simulator
from okta_pipeline_tests.opensearch.loading_helpers import count

ROOT = Path(__file__).resolve().parents[1]
# Two requests a second at the default half share: a fetch of ~20 pages takes ~10 s to kill.
SLOW_OKTA = SimulatorOptions(rate_limit_per_window=4, rate_limit_window_seconds=1)
ORG = SimulatedOrg(seed=71, events_per_minute=60)


def child(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "okta_pipeline_tests.fault_child", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never reached the point to kill it at"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@pytest.mark.parametrize("killed_during", ["fetch", "load"])
def test_a_run_killed_then_run_again_loses_and_doubles_nothing(
    killed_during: str,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    tmp_path: Path,
) -> None:
    prefix = f"test-killed-{killed_during}-{os.getpid()}"
    start, end = recent_window(hours_ago=4, span=timedelta(hours=6))
    zone = LandingZone(tmp_path)
    try:
        with running_simulator(SLOW_OKTA, source=ORG) as (app, base_url):
            args = [start.isoformat(), end.isoformat(), base_url, TOKEN, str(tmp_path)]
            args += [opensearch_endpoint.url, prefix]
            first = child(args)
            if killed_during == "fetch":
                kill_when(first, lambda: app.stats.log_requests >= 5, limit=120)
                partial = len(list(zone.iter_window_events(start, end)))
            else:
                kill_when(first, lambda: count(opensearch, prefix) > 0, limit=180)
                partial = count(opensearch, prefix)
            again = child(args)
            assert again.wait(timeout=300) == 0, again.stderr.read() if again.stderr else ""
            over_budget = app.rate_limiter.rejected
        millis = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        truth = {s.uuid for s in ORG.published_between(*millis)}
        landed = [e["uuid"] for e in zone.iter_window_events(start, end)]
        indexed = count(opensearch, prefix)
        print(
            f"{'killed during':<14} {'expected':>8} {'landed':>7} {'indexed':>8} "
            f"{'duplicates':>10} {'over budget':>11}\n"
            f"{killed_during:<14} {len(truth):>8} {len(set(landed)):>7} {indexed:>8} "
            f"{len(landed) - len(set(landed)):>10} {over_budget:>11}"
        )
        assert len(truth) > 10_000
        assert 0 < partial < len(truth), f"killed mid-{killed_during}: {partial} of {len(truth)}"
        assert set(landed) == truth and len(landed) == len(truth)
        assert indexed == len(truth)
        assert over_budget == 0
    finally:
        drop_prefix(opensearch, prefix)
