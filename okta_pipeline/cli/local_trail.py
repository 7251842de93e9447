"""The local CloudTrail of the demo and the UI: the simulated AWS accounts' log files in a trail
bucket on a local S3, laid out as CloudTrail lays them out, for the pipeline to read as it
reads a real trail."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from okta_pipeline.lib.aws_simulator.delivery import MAX_DELIVERY_DELAY_MS, Delivery, deliver
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.standins.s3 import CREDENTIALS, LocalS3, running_s3

# How often the UI's trail delivers the files that have come due (CloudTrail: every 5 minutes
# per account and region, at offsets of their own).
DELIVERY_TICK_SECONDS = 30.0


@dataclass(frozen=True)
class LocalTrail:
    root: str
    """The trail's s3:// location, as OKTA_PIPELINE_CLOUDTRAIL_ROOT would name it."""
    endpoint_url: str
    delivery: Delivery


@contextmanager
def demo_trail(trail: SimulatedTrail, start: datetime, end: datetime) -> Iterator[LocalTrail]:
    """A local S3 holding every log file that carries records of [start, end); the local S3's
    placeholder credentials are set for the block unless AWS credentials are set already."""
    with placeholder_credentials(os.environ), running_s3("demo-cloudtrail", versioned=False) as s3:
        start_ms, end_ms = _ms(start), _ms(end)
        delivered = deliver(
            s3.client(), s3.bucket, "", trail, start_ms, end_ms + MAX_DELIVERY_DELAY_MS
        )
        yield LocalTrail(f"s3://{s3.bucket}", s3.endpoint_url, delivered)


@contextmanager
def live_trail(trail: SimulatedTrail, since: datetime) -> Iterator[LocalTrail]:
    """A local S3 with the log files delivered from `since` until now, and a thread delivering
    each new one as it comes due, as CloudTrail would, until the block ends."""
    with running_s3("local-cloudtrail", versioned=False) as s3:
        feeder = _Feeder(trail, s3, _ms(since))
        first = feeder.deliver_due()
        thread = threading.Thread(target=feeder.run, name="trail-delivery", daemon=True)
        thread.start()
        try:
            yield LocalTrail(f"s3://{s3.bucket}", s3.endpoint_url, first)
        finally:
            feeder.stopped.set()
            thread.join(timeout=DELIVERY_TICK_SECONDS)


@contextmanager
def placeholder_credentials(environ: MutableMapping[str, str]) -> Iterator[None]:
    """The local S3's placeholder credentials in `environ` for the block, where none are set."""
    added = {name: value for name, value in CREDENTIALS.items() if name not in environ}
    environ.update(added)
    try:
        yield
    finally:
        for name in added:
            environ.pop(name, None)


class _Feeder:
    def __init__(self, trail: SimulatedTrail, s3: LocalS3, since_ms: int) -> None:
        self.trail, self.s3, self.since_ms = trail, s3, since_ms
        self.client = s3.client()
        self.stopped = threading.Event()

    def deliver_due(self) -> Delivery:
        now_ms = int(time.time() * 1000)
        delivered = deliver(self.client, self.s3.bucket, "", self.trail, self.since_ms, now_ms)
        self.since_ms = now_ms
        return delivered

    def run(self) -> None:
        while not self.stopped.wait(DELIVERY_TICK_SECONDS):
            self.deliver_due()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
