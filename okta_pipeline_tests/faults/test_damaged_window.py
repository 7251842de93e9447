"""A landed window whose file was cut short: the load reports it and stops there, a re-fetch
repairs it without losing what it held, and the next load leaves exactly the simulator's
events in OpenSearch. Real simulator over a socket, real node."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.faults.outcome import measure, published_uuids
from okta_pipeline_tests.okta.helpers import TOKEN, range_tags, recent_window, running_simulator
from okta_pipeline_tests.opensearch.loading_helpers import count, load

ORG = SimulatedOrg(seed=61, events_per_minute=120)


def test_a_truncated_window_is_reported_then_repaired_by_a_refetch_losing_nothing(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, end = recent_window(span=3 * WINDOW)
    damaged = start + WINDOW
    zone = LandingZone(tmp_path)
    with running_simulator(source=ORG) as (app, base_url):
        resources = {
            "okta": OktaResource(base_url=base_url, api_token=TOKEN),
            "landing": LandingZoneResource(root=str(tmp_path)),
        }
        assert dg.materialize([okta_system_log], resources=resources, tags=range_tags(start, end))
        truth = {e["uuid"] for e in zone.iter_window_events(start, end)}
        in_damaged = {e["uuid"] for e in zone.read_window(damaged)}
        path = tmp_path / zone.window_key(damaged)
        whole = path.read_bytes()
        path.write_bytes(whole[: len(whole) // 2])  # a write cut short

        broken = load(opensearch_endpoint, prefix, tmp_path, start, end)
        assert not broken.success
        failure = broken.failure_data_for_node("opensearch_okta_logs")
        assert failure is not None
        message = str(failure.error)
        assert f"window {damaged:%Y-%m-%d %H:%M} UTC" in message and "Re-fetch" in message
        assert count(opensearch, prefix) <= len(truth)  # what was sent is not doubled later

        refetch = dg.materialize(
            [okta_system_log],
            resources=resources,
            partition_key=damaged.strftime(PARTITION_FORMAT),
        )
        over_budget = app.rate_limiter.rejected
    (repaired,) = refetch.asset_materializations_for_node("okta_system_log")
    assert repaired.partition == damaged.strftime(PARTITION_FORMAT)
    kept = Path(str(repaired.metadata["damaged_file_set_aside"].value))
    assert kept.read_bytes() == whole[: len(whole) // 2]  # the damaged file is kept aside
    assert {e["uuid"] for e in zone.read_window(damaged)} == in_damaged

    again = load(opensearch_endpoint, prefix, tmp_path, start, end)
    assert again.success
    assert truth == published_uuids(ORG, [(start, end)])
    outcome = measure(
        "truncated landed file, re-fetched",
        truth,
        zone,
        [(start, end)],
        opensearch,
        prefix,
        over_budget,
    )
    assert outcome.clean, outcome
