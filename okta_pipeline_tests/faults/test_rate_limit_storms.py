"""Ten-minute 429 storms, one from Okta and one from OpenSearch, through the whole pipeline: the
runs slow down and finish, with every event landed and indexed once, none dead-lettered, and
no Okta request sent before the reset Okta announced.

The ten minutes are on a clock that the pipeline's own waits advance (`SkippingClock`): every
wait is taken at its full length, in order, but returns at once. The simulator's rate limit,
its Date header and the storm itself run on that clock; events, requests and the node are
real."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.okta.client import OktaLogClient
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.faults.outcome import measure, published_uuids
from okta_pipeline_tests.faults.throttling_proxy import ThrottlingProxy
from okta_pipeline_tests.faults.virtual_time import SkippingClock
from okta_pipeline_tests.okta.helpers import (
    TOKEN,
    range_tags,
    running_simulator,
    weekday_noon_range,
)
from okta_pipeline_tests.run_results import materialize_with_totals

STORM = timedelta(minutes=10)
ORG = SimulatedOrg(seed=83, events_per_minute=60)
# Okta's own shape of limit: a one-minute window (50 requests, half of them this pipeline's).
OKTA = SimulatorOptions(rate_limit_per_window=50, rate_limit_window_seconds=60)
CLOCK: list[SkippingClock] = []
"""The clock of the test running now: resources are rebuilt by Dagster and cannot carry it."""


class OktaOnTheTestClock(OktaResource):
    def client(
        self,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> OktaLogClient:
        return super().client(sleep=CLOCK[-1].sleep, monotonic=CLOCK[-1].monotonic)


class OpenSearchOnTheTestClock(OpenSearchResource):
    def wait(self, seconds: float) -> None:
        CLOCK[-1].sleep(seconds)


@pytest.fixture
def clock() -> Iterator[SkippingClock]:
    CLOCK.append(SkippingClock())
    yield CLOCK[-1]
    CLOCK.pop()


def run_pipeline(
    okta: OktaResource, opensearch: OpenSearchResource, root: Path, start: datetime, end: datetime
) -> tuple[dg.ExecuteInProcessResult, dict[str, str]]:
    """The run, and the totals it recorded on itself."""
    return materialize_with_totals(
        [okta_system_log, opensearch_okta_logs],
        resources={
            "okta": okta,
            "opensearch": opensearch,
            "landing": LandingZoneResource(root=str(root)),
        },
        tags=range_tags(start, end),
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )


def test_a_ten_minute_okta_storm_slows_the_fetch_and_loses_nothing(
    clock: SkippingClock,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefix: str,
    tmp_path: Path,
) -> None:
    start, end = weekday_noon_range(timedelta(hours=6))
    with running_simulator(OKTA, source=ORG, wall_clock=clock.time) as (app, base_url):

        def storm_after_three_pages() -> None:
            while app.stats.log_requests < 3:
                time.sleep(0.01)
            app.start_rate_limit_storm(STORM.total_seconds())

        storm = threading.Thread(target=storm_after_three_pages, daemon=True)
        storm.start()
        _, totals = run_pipeline(
            OktaOnTheTestClock(base_url=base_url, api_token=TOKEN),
            OpenSearchResource(url=opensearch_endpoint.url, index_prefix=prefix),
            tmp_path,
            start,
            end,
        )
        storm.join(timeout=5)
        stats = app.stats
        over_budget = app.rate_limiter.rejected + stats.storm_early_requests
    outcome = measure(
        "Okta answers 429 for 10 minutes",
        published_uuids(ORG, [(start, end)]),
        LandingZone(tmp_path),
        [(start, end)],
        opensearch,
        prefix,
        over_budget,
    )
    assert outcome.clean, outcome
    # One request per limit window while it lasted: the client waited out each reset.
    windows = STORM.total_seconds() / OKTA.rate_limit_window_seconds
    assert windows <= stats.storm_rejections <= windows + 1
    assert int(totals["okta_rate_limited"]) == stats.storm_rejections
    assert clock.skipped >= STORM.total_seconds()
    assert float(totals["okta_wait_seconds"]) >= STORM.total_seconds()


def test_a_ten_minute_opensearch_storm_slows_the_load_and_dead_letters_nothing(
    clock: SkippingClock,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefix: str,
    tmp_path: Path,
) -> None:
    start, end = weekday_noon_range(timedelta(hours=1))
    with (
        ThrottlingProxy(opensearch_endpoint.url, clock.time, STORM.total_seconds()) as proxy,
        running_simulator(source=ORG) as (app, base_url),
    ):
        _, totals = run_pipeline(
            OktaResource(base_url=base_url, api_token=TOKEN),
            OpenSearchOnTheTestClock(
                url=proxy.base_url, index_prefix=prefix, bulk_chunk_bytes=1 << 20
            ),
            tmp_path,
            start,
            end,
        )
        over_budget = app.rate_limiter.rejected
    outcome = measure(
        "OpenSearch answers 429 for 10 minutes",
        published_uuids(ORG, [(start, end)]),
        LandingZone(tmp_path),
        [(start, end)],
        opensearch,
        prefix,
        over_budget,
    )
    assert outcome.clean, outcome
    assert totals["opensearch_dead_lettered"] == totals["opensearch_failed"] == "0"
    assert proxy.throttled_requests >= 20 and proxy.throttled_items > 0
    assert proxy.forwarded_bulks > 1  # the storm passed mid-load, and the rest went through
    # The load waited the storm out, doubling its waits up to 30 s, never giving up.
    assert clock.skipped >= STORM.total_seconds()
    assert clock.waits[:4] == [0.5, 1.0, 2.0, 4.0] and max(clock.waits) == 30.0
