"""The code locations the time-to-detect benchmark's Dagster daemon loads, on the benchmark's
own landing zones, indices and Slack stand-ins (named by its environment):

- `push`: the log stream's drain job and the sensor that launches it on the queue's depth;
- `poll`: the partitioned assets (fetch, load, detect, alert) and the automation that
  materializes them, as deployed.

Both watch the same simulated org, each into its own indices, so one attack is timed by both.
"""

import os
from typing import Any

import dagster as dg

from okta_pipeline.defs.alerts.assets import alert_deliveries
from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.automation import automation_sensor
from okta_pipeline.defs.okta.log_stream import (
    LogStreamResource,
    log_stream_drain_job,
    log_stream_queue_sensor,
)
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource

SLACK_CHANNEL = "#bench-alerts"


def _resources(side: str) -> dict[str, Any]:
    """The resources of one side (`PUSH` or `POLL`) from OKTA_BENCH_<side>_* variables."""
    prefix = os.environ[f"OKTA_BENCH_{side}_INDEX_PREFIX"]
    return {
        "landing": LandingZoneResource(root=os.environ[f"OKTA_BENCH_{side}_LANDING"]),
        "opensearch": OpenSearchResource(
            url=os.environ["OPENSEARCH_URL"],
            index_prefix=prefix,
            findings_prefix=f"{prefix}-findings",
        ),
        "detections": DetectionsResource(),
        "alerts": AlertsResource(
            slack_bot_token=dg.EnvVar("OKTA_BENCH_SLACK_TOKEN"),
            slack_channel=SLACK_CHANNEL,
            slack_api_url=os.environ[f"OKTA_BENCH_{side}_SLACK_URL"],
            ledger_index=f"{prefix}-ledger",
        ),
    }


def _push() -> dg.Definitions:
    return dg.Definitions(
        jobs=[log_stream_drain_job],
        sensors=[log_stream_queue_sensor],
        resources={
            **_resources("PUSH"),
            "log_stream": LogStreamResource(
                queue_url=os.environ["OKTA_PIPELINE_LOG_STREAM_QUEUE_URL"],
                dead_letter_queue_url=os.environ["OKTA_PIPELINE_LOG_STREAM_DLQ_URL"],
                endpoint_url=os.environ["OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL"],
            ),
        },
    )


def _poll() -> dg.Definitions:
    return dg.Definitions(
        assets=[okta_system_log, opensearch_okta_logs, okta_detections, alert_deliveries],
        sensors=[automation_sensor],
        resources={
            **_resources("POLL"),
            "okta": OktaResource(
                base_url=os.environ["OKTA_BASE_URL"], api_token=dg.EnvVar("OKTA_API_TOKEN")
            ),
        },
    )


push = _push() if os.environ.get("OKTA_BENCH_PUSH_INDEX_PREFIX") else dg.Definitions()
poll = _poll() if os.environ.get("OKTA_BENCH_POLL_INDEX_PREFIX") else dg.Definitions()
