"""The simulated org's log stream, as the log stream tests set it up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from okta_pipeline.lib.okta_simulator.log_stream import (
    DeliveryFaults,
    EventBridgePublisher,
    ExtendableSource,
    LogStreamer,
)
from okta_pipeline.lib.standins.log_stream_aws import LocalLogStreamAws
from okta_pipeline_tests.okta.helpers import TOKEN

MINUTE_MS = 60_000
STREAM = {
    "type": "aws_eventbridge",
    "name": "pipeline",
    "settings": {
        "accountId": "123456789012",
        "eventSourceName": "okta-pipeline",
        "region": "us-east-1",
    },
}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def streamer_for(
    aws: LocalLogStreamAws, source: ExtendableSource, at_ms: int, faults: DeliveryFaults
) -> LogStreamer:
    return LogStreamer(
        source,
        "dev-simulated",
        connect=lambda _: EventBridgePublisher(aws.client("events"), aws.bus_name),
        faults=faults,
        seed=7,
        clock_ms=lambda: at_ms,
    )


def create_stream(base_url: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base_url}/api/v1/logStreams", json=STREAM, headers={"Authorization": f"SSWS {TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
