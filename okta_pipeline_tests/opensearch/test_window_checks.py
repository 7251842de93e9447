"""The load's checks are judged per window: a window's failure stays on its partition, in the
instance the UI reads, until that window is fixed, whatever later runs find elsewhere."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.defs.opensearch.range_load import PARITY, REQUIRED_FIELDS
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.okta.helpers import PARTITION_FORMAT, recent_window
from okta_pipeline_tests.opensearch.loading_helpers import land, load

LOAD = dg.AssetKey("opensearch_okta_logs")


def statuses(instance: dg.DagsterInstance, check: str) -> dict[str, str]:
    """Each partition's latest status of `check`, as Dagster resolves it for the UI: only an
    evaluation of the partition's latest materialization counts."""
    infos = instance.event_log_storage.get_asset_check_partition_info(
        [dg.AssetCheckKey(LOAD, check)]
    )
    return {
        str(info.partition_key): info.latest_execution_status.value if info.is_current else "stale"
        for info in infos
    }


def test_a_failed_window_of_a_backfill_stays_failed_after_later_windows_pass(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, _ = recent_window(hours_ago=5, span=WINDOW)
    middle, end = start + timedelta(hours=1), start + timedelta(hours=2)
    org = SimulatedOrg(seed=61, events_per_minute=10)
    events = land(tmp_path, org, start, end)
    bad_window = start + 4 * WINDOW
    zone = LandingZone(tmp_path)
    in_bad = zone.read_window(bad_window)
    broken = {key: value for key, value in in_bad[0].items() if key != "eventType"}
    _rewrite(tmp_path / zone.window_key(bad_window), [broken, *in_bad[1:]])
    bad_key = bad_window.strftime(PARTITION_FORMAT)
    keys = [(start + n * WINDOW).strftime(PARTITION_FORMAT) for n in range(24)]

    with dg.instance_for_test() as instance:
        backfill = load(opensearch_endpoint, prefix, tmp_path, start, middle, instance)
        assert backfill.success, "a missing eventType is reported, and holds nothing back"
        later = load(opensearch_endpoint, prefix, tmp_path, middle, end, instance)
        assert later.success
        required = statuses(instance, REQUIRED_FIELDS)
        assert required[bad_key] == "FAILED"
        assert {k for k, status in required.items() if status == "SUCCEEDED"} == set(keys) - {
            bad_key
        }
        assert set(statuses(instance, PARITY).values()) == {"SUCCEEDED"}
        (evaluation,) = [
            e
            for e in backfill.get_asset_check_evaluations()
            if e.check_name == REQUIRED_FIELDS and not e.passed
        ]
        assert evaluation.partition == bad_key
        assert evaluation.description == "1 events lack a required field"

        # Re-running the later windows leaves the failed window as it was.
        again = load(opensearch_endpoint, prefix, tmp_path, middle, end, instance)
        assert again.success and statuses(instance, REQUIRED_FIELDS)[bad_key] == "FAILED"

        # The window fixed and loaded again: its check passes, on its own partition.
        _rewrite(tmp_path / zone.window_key(bad_window), in_bad)
        fixed = load(
            opensearch_endpoint, prefix, tmp_path, bad_window, bad_window + WINDOW, instance
        )
        assert fixed.success
        assert set(statuses(instance, REQUIRED_FIELDS).values()) == {"SUCCEEDED"}
    assert len(events) > 100


def _rewrite(path: Path, events: list[dict[str, object]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(event) + "\n" for event in events)
