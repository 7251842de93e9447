"""alert_deliveries follows each detection of a window, also when a detection's query was
refused: that detection is skipped and reported, the others' findings are still delivered."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline_tests.run_results import report_window_check

DETECTED = "2026-11-20-10:00"


@pytest.mark.parametrize("queries_accepted", [True, False])
def test_a_detected_window_is_delivered_even_when_a_detection_was_refused(
    queries_accepted: bool,
) -> None:
    defs = build_definitions(DeploymentSettings())
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=datetime(2026, 11, 20, 10, 8, tzinfo=UTC)
        )
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="okta_detections", partition=DETECTED)
        )
        report_window_check(
            instance, "okta_detections", "queries_accepted", DETECTED, passed=queries_accepted
        )
        result = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=first.cursor,
            evaluation_time=datetime(2026, 11, 20, 10, 8, 30, tzinfo=UTC),
        )
        requested = set(result.get_requested_partitions(dg.AssetKey("alert_deliveries")))
    assert requested == {DETECTED}
