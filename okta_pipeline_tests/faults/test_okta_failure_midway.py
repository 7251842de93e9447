"""Okta failing for good partway through a range run: the run fails naming the cause, the
windows landed before the failure stay landed, and running it again completes the range."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.faults.outcome import landed_uuids, measure, published_uuids
from okta_pipeline_tests.okta.helpers import (
    TOKEN,
    range_tags,
    running_simulator,
    weekday_noon_range,
)

ORG = SimulatedOrg(seed=89, events_per_minute=60)
FAILURES = 6  # as many 500s in a row as the client makes attempts


def test_okta_failing_partway_through_a_range_loses_nothing_landed(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, end = weekday_noon_range(timedelta(hours=4))
    zone = LandingZone(tmp_path)
    with running_simulator(SimulatorOptions(rate_limit_per_window=600), source=ORG) as (
        app,
        base_url,
    ):
        resources = {
            "okta": OktaResource(base_url=base_url, api_token=TOKEN, backoff_seconds=0.01),
            "landing": LandingZoneResource(root=str(tmp_path)),
            "opensearch": OpenSearchResource(url=opensearch_endpoint.url, index_prefix=prefix),
        }

        def fail_after_five_pages() -> None:
            while app.stats.log_requests < 5:
                time.sleep(0.005)
            app.inject_faults(*[500] * FAILURES)

        failing = threading.Thread(target=fail_after_five_pages, daemon=True)
        failing.start()
        first = dg.materialize(
            [okta_system_log, opensearch_okta_logs],
            resources=resources,
            tags=range_tags(start, end),
            raise_on_error=False,
        )
        failing.join(timeout=5)
        kept = set(landed_uuids(zone, start, end))
        again = dg.materialize(
            [okta_system_log, opensearch_okta_logs],
            resources=resources,
            tags=range_tags(start, end),
        )
        over_budget = app.rate_limiter.rejected
    failure = first.failure_data_for_node("okta_system_log")
    assert failure is not None and "Okta kept failing after 6 attempts" in str(failure.error)
    truth = published_uuids(ORG, [(start, end)])
    assert 3000 <= len(kept) < len(truth)  # the pages before the failure were landed
    assert again.success
    outcome = measure(
        "Okta fails partway through a range, run again",
        truth,
        zone,
        [(start, end)],
        opensearch,
        prefix,
        over_budget,
    )
    assert outcome.clean, outcome
