"""Running and reading monitors on the node, for the monitor tests."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.model import Detection
from okta_pipeline.lib.monitors.compile import MonitorOptions, compile_monitor
from okta_pipeline.lib.monitors.sync import MONITORS

ALERTS = f"{MONITORS}/alerts"


def catalog_monitors(catalog: list[Detection], options: MonitorOptions) -> list[dict[str, Any]]:
    return [body for d in catalog if (body := compile_monitor(d, options)) is not None]


def execute(
    client: OpenSearch, monitor_id: str, period_end: datetime, *, dryrun: bool = True
) -> list[tuple[str, ...]]:
    """Run a stored monitor as if its period ended at `period_end`; the bucket keys its trigger
    selected (one tuple of entity values per bucket, None for a missing value)."""
    millis = int(period_end.timestamp() * 1000)
    result = client.transport.perform_request(
        "POST",
        f"{MONITORS}/{monitor_id}/_execute",
        params={"period_end": f"{millis}ms", "dryrun": str(dryrun).lower()},
    )
    error = result.get("error") or result["input_results"].get("error")
    (trigger,) = result["trigger_results"].values()
    assert not (error or trigger.get("error")), error or trigger.get("error")
    selected = trigger.get("agg_result_buckets") or {}
    return [
        tuple(found["agg_alert_content"]["bucket"]["key"].values()) for found in selected.values()
    ]


def alerts_of(client: OpenSearch, monitor_id: str) -> list[dict[str, Any]]:
    found = client.transport.perform_request(
        "GET", ALERTS, params={"monitorId": monitor_id, "size": 100}
    )
    return list(found["alerts"])


def wait_for_alert(client: OpenSearch, monitor_id: str, timeout: float) -> list[dict[str, Any]]:
    """The monitor's alerts once one is ACTIVE, or all of them when `timeout` passed."""
    deadline = time.monotonic() + timeout
    while True:
        alerts = alerts_of(client, monitor_id)
        if any(a["state"] == "ACTIVE" for a in alerts) or time.monotonic() > deadline:
            return alerts
        time.sleep(2)
