"""The AWS side of Okta's log stream, locally: an event bus, a rule matching Okta's events to
an SQS queue, and that queue's dead-letter queue, on moto's server over a real socket.

On AWS, Okta writes to a partner event source (`aws.partner/okta.com/<org>/<name>`) and its
partner event bus. moto has no partner event sources, so a custom bus stands in for the partner
bus; the events on it carry Okta's partner source, and the rule matches on it as on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from okta_pipeline.lib.log_stream.envelope import DETAIL_TYPE, OKTA_PARTNER_PREFIX
from okta_pipeline.lib.standins.s3 import local_client, moto_endpoint

DEFAULT_MAX_RECEIVES = 5


@dataclass(frozen=True)
class LocalLogStreamAws:
    endpoint_url: str
    bus_name: str
    rule_name: str
    queue_url: str
    dead_letter_queue_url: str

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint_url)


def okta_event_pattern() -> dict[str, Any]:
    """What the rule lets through: System Log events from any Okta partner source."""
    return {"source": [{"prefix": OKTA_PARTNER_PREFIX}], "detail-type": [DETAIL_TYPE]}


def create_log_stream_aws(
    endpoint_url: str,
    name: str = "okta-log-stream",
    max_receives: int = DEFAULT_MAX_RECEIVES,
    visibility_timeout_seconds: int = 60,
) -> LocalLogStreamAws:
    """The bus, the rule, the queue and its dead-letter queue at an endpoint (idempotent)."""
    sqs = local_client("sqs", endpoint_url)
    events = local_client("events", endpoint_url)
    dead_letters = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letters_arn = _queue_arn(sqs, dead_letters)
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letters_arn, "maxReceiveCount": str(max_receives)}
            ),
        },
    )["QueueUrl"]
    bus = name
    if not any(b["Name"] == bus for b in events.list_event_buses()["EventBuses"]):
        events.create_event_bus(Name=bus)
    rule = f"{name}-to-sqs"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(okta_event_pattern()))
    events.put_targets(
        Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": _queue_arn(sqs, queue)}]
    )
    return LocalLogStreamAws(endpoint_url, bus, rule, queue, dead_letters)


@contextmanager
def running_log_stream_aws(
    name: str = "okta-log-stream", visibility_timeout_seconds: int = 60
) -> Iterator[LocalLogStreamAws]:
    """moto's server with the log stream's bus, rule, queue and dead-letter queue."""
    with moto_endpoint() as endpoint_url:
        yield create_log_stream_aws(
            endpoint_url, name, visibility_timeout_seconds=visibility_timeout_seconds
        )


def _queue_arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
