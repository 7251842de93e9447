"""A monitor scheduled by Alerting itself (not `_execute`) raises an alert for an injected
scenario: a help-desk admin role granted a minute and a half ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.monitors.compile import MonitorOptions, compile_monitor
from okta_pipeline.lib.monitors.sync import MonitorSync
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.monitors.helpers import alerts_of, wait_for_alert
from okta_pipeline_tests.stored_events import index_events

EVERY_MINUTE = {"period": {"interval": 1, "unit": "MINUTES"}}
# The first run comes within a minute of the monitor's creation; allow for a slow machine.
ALERT_WITHIN_SECONDS = 150


def test_a_scheduled_monitor_raises_an_alert_for_an_injected_grant(
    opensearch: OpenSearch, owner: str, tmp_path: Path
) -> None:
    detection = load_catalog().get("okta_admin_role_granted")
    positive = next(e for e in detection.examples if e.expect_finding)
    negative = next(e for e in detection.examples if not e.expect_finding)
    # Each run reads the five minutes before its start (no lag): these events stay in range
    # for the next three and a half minutes.
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=90)
    granted = example_events(positive, anchor, "scheduled")
    revoked = example_events(negative, anchor, "scheduled-revoke")
    options = MonitorOptions(
        indices=daily_indices(owner), owner=owner, lag=timedelta(0), schedule=EVERY_MINUTE
    )
    try:
        index_events(opensearch, owner, granted + revoked, tmp_path)
        body = compile_monitor(detection, options)
        assert body is not None
        sync = MonitorSync(opensearch, owner)
        sync.sync([body])
        monitor_id = sync.stored()[detection.id].id

        alerts = wait_for_alert(opensearch, monitor_id, ALERT_WITHIN_SECONDS)
        active = [a for a in alerts if a["state"] == "ACTIVE"]
        assert len(active) == 1, f"no active alert within {ALERT_WITHIN_SECONDS}s: {alerts}"
        (alert,) = active
        admin, user = granted[0]["actor"]["alternateId"], granted[0]["target"][0]["alternateId"]
        assert alert["agg_alert_content"]["bucket_keys"] == [admin, user]
        assert alert["trigger_id"] == "okta_admin_role_granted.trigger"
        assert alert["severity"] == "2" and alert["monitor_name"].startswith("okta_pipeline/")
        assert len(alerts_of(opensearch, monitor_id)) == 1  # the revoke raised nothing
    finally:
        MonitorSync(opensearch, owner).sync([])
        drop_prefix(opensearch, owner)
