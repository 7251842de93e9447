"""Okta's log stream on this machine: the simulated org's streamer publishing to a local
EventBridge bus whose rule feeds an SQS queue (moto's server), for the demo, `make ui` and the
benchmark."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from okta_pipeline.defs.okta.log_stream import LogStreamResource
from okta_pipeline.lib.okta_simulator.log_stream import (
    EventBridgePublisher,
    ExtendableSource,
    LogStreamer,
)
from okta_pipeline.lib.standins.log_stream_aws import LocalLogStreamAws, running_log_stream_aws

STREAM_SETTINGS = {
    "type": "aws_eventbridge",
    "name": "okta_pipeline local",
    "settings": {"accountId": "123456789012", "eventSourceName": "local", "region": "us-east-1"},
}


@dataclass
class LocalLogStream:
    aws: LocalLogStreamAws
    streamer: LogStreamer

    def resource(self) -> LogStreamResource:
        return LogStreamResource(
            queue_url=self.aws.queue_url,
            dead_letter_queue_url=self.aws.dead_letter_queue_url,
            endpoint_url=self.aws.endpoint_url,
            wait_seconds=0,
        )

    def environment(self) -> dict[str, str]:
        """The variables that turn the definitions' drain and its sensor on, for this queue."""
        return {
            "OKTA_PIPELINE_LOG_STREAM_QUEUE_URL": self.aws.queue_url,
            "OKTA_PIPELINE_LOG_STREAM_DLQ_URL": self.aws.dead_letter_queue_url,
            "OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL": self.aws.endpoint_url,
        }


@contextmanager
def local_log_stream(source: ExtendableSource, seed: int, name: str) -> Iterator[LocalLogStream]:
    """A bus, rule and queues of their own, and a streamer (no stream created yet)."""
    with running_log_stream_aws(name=name) as aws:
        streamer = LogStreamer(
            source,
            "local",
            connect=lambda _: EventBridgePublisher(aws.client("events"), aws.bus_name),
            seed=seed,
        )
        yield LocalLogStream(aws, streamer)


@contextmanager
def streaming_live(stream: LocalLogStream, every_seconds: float = 1.0) -> Iterator[None]:
    """Stream from now on the wall clock until the block ends (a stream is created when there
    is none), delivered every `every_seconds`."""
    streamer = stream.streamer
    streamer.set_clock(lambda: int(time.time() * 1000))
    streamer.skip_to(int(time.time() * 1000))
    if not streamer.all(""):
        streamer.create(STREAM_SETTINGS, "")
    stop = threading.Event()

    def deliver() -> None:
        while not stop.wait(every_seconds):
            streamer.deliver_until(int(time.time() * 1000))

    thread = threading.Thread(target=deliver, name="okta-log-stream", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
