"""okta_detections follows each load of a window, unless the load's blocking checks failed."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline_tests.run_results import report_window_check

LOADED = "2026-11-20-10:00"


@pytest.mark.parametrize(
    ("severity", "passed", "detected"),
    [
        (dg.AssetCheckSeverity.ERROR, True, True),
        (dg.AssetCheckSeverity.WARN, False, True),  # dead letters only: detection goes on
        (dg.AssetCheckSeverity.ERROR, False, False),  # documents missing: wait for a re-load
    ],
    ids=["checks passed", "dead letters warned", "parity failed"],
)
def test_a_loaded_window_is_detected_once_its_blocking_checks_allow(
    severity: dg.AssetCheckSeverity, passed: bool, detected: bool
) -> None:
    defs = build_definitions(DeploymentSettings())
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=datetime(2026, 11, 20, 10, 8, tzinfo=UTC)
        )
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="opensearch_okta_logs", partition=LOADED)
        )
        # Dead letters fail all_events_indexed as a warning and leave parity intact; events
        # the cluster refused fail parity as an error.
        failing = "all_events_indexed" if severity == dg.AssetCheckSeverity.WARN else "count_parity"
        for check in ("count_parity", "all_events_indexed"):
            report_window_check(
                instance,
                "opensearch_okta_logs",
                check,
                LOADED,
                passed=passed or check != failing,
                severity=severity,
            )
        result = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=first.cursor,
            # Before 10:09, when the hourly catch-up would request the whole missing day.
            evaluation_time=datetime(2026, 11, 20, 10, 8, 30, tzinfo=UTC),
        )
        requested = set(result.get_requested_partitions(dg.AssetKey("okta_detections")))
    assert requested == ({LOADED} if detected else set())
