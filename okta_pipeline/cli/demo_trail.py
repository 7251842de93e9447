"""The demo's CloudTrail: the simulated AWS accounts' log files, delivered into a trail bucket
on a local S3 as CloudTrail lays them out, for the pipeline to read as it reads a real trail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from okta_pipeline.lib.aws_simulator.delivery import MAX_DELIVERY_DELAY_MS, Delivery, deliver
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.standins.s3 import CREDENTIALS, running_s3


@dataclass(frozen=True)
class DemoTrail:
    root: str
    """The trail's s3:// location, as OKTA_PIPELINE_CLOUDTRAIL_ROOT would name it."""
    endpoint_url: str
    delivery: Delivery


@contextmanager
def demo_trail(trail: SimulatedTrail, start: datetime, end: datetime) -> Iterator[DemoTrail]:
    """A local S3 holding every log file that carries records of [start, end); the local S3's
    placeholder credentials are set for the block unless AWS credentials are set already."""
    with _placeholder_credentials(), running_s3("demo-cloudtrail", versioned=False) as s3:
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        delivery = deliver(
            s3.client(), s3.bucket, "", trail, start_ms, end_ms + MAX_DELIVERY_DELAY_MS
        )
        yield DemoTrail(f"s3://{s3.bucket}", s3.endpoint_url, delivery)


@contextmanager
def _placeholder_credentials() -> Iterator[None]:
    added = {name: value for name, value in CREDENTIALS.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
