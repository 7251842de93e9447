"""The node stopped and started again in the middle of a load: the run fails naming the cause,
and running it again leaves every event indexed once."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline_tests.faults.outcome import measure, published_uuids
from okta_pipeline_tests.faults.processes import child, finished, stderr_of, wait_until
from okta_pipeline_tests.okta.helpers import TOKEN, running_simulator, weekday_noon_range
from okta_pipeline_tests.opensearch.loading_helpers import count, some_indexed

ORG = SimulatedOrg(seed=97, events_per_minute=60)
ROOMY_OKTA = SimulatorOptions(rate_limit_per_window=600)
SMALL_CHUNKS = 64 * 1024  # hundreds of bulk requests: the restart lands in the middle of them


def test_the_node_restarted_mid_load_loses_and_doubles_nothing(
    local_layout: NodeLayout,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    tmp_path: Path,
) -> None:
    if external_endpoint(os.environ) is not None:
        pytest.skip("restarting a cluster given by OPENSEARCH_URL is not this suite's to do")
    prefix = f"test-restart-{uuid.uuid4().hex[:8]}"
    start, end = weekday_noon_range(timedelta(hours=8))
    try:
        with running_simulator(ROOMY_OKTA, source=ORG) as (app, base_url):
            args = [start.isoformat(), end.isoformat(), base_url, TOKEN, str(tmp_path)]
            args += [opensearch_endpoint.url, prefix, "--chunk-bytes", str(SMALL_CHUNKS)]
            first = child("child", args)
            wait_until(first, lambda: some_indexed(opensearch, prefix), 180, "the load")
            assert node.stop(local_layout)
            partial = finished(first, timeout=120)
            message = stderr_of(first)
            node.start(local_layout)
            indexed_before = count(opensearch, prefix)
            again = child("child", args)
            assert finished(again, timeout=300) == 0, stderr_of(again)
            over_budget = app.rate_limiter.rejected
        truth = published_uuids(ORG, [(start, end)])
        outcome = measure(
            "node restarted mid-load, run again",
            truth,
            LandingZone(tmp_path),
            [(start, end)],
            opensearch,
            prefix,
            over_budget,
        )
        assert partial != 0, "the load finished before the node stopped"
        assert 0 < indexed_before < len(truth)
        assert "OpenSearch stopped answering during the load" in message, message
        assert outcome.clean, outcome
    finally:
        node.start(local_layout)  # whatever happened, the rest of the suite needs its node
        drop_prefix(opensearch, prefix)
