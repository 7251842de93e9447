"""Local AWS for the log stream tests: moto's server, with a bus, rule and queues per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from okta_pipeline.lib.standins.log_stream_aws import LocalLogStreamAws, create_log_stream_aws
from okta_pipeline.lib.standins.s3 import moto_endpoint


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    with moto_endpoint() as endpoint_url:
        yield endpoint_url


@pytest.fixture
def aws(aws_endpoint: str) -> LocalLogStreamAws:
    """A bus, rule, queue and dead-letter queue of the test's own (2 s visibility)."""
    return create_log_stream_aws(
        aws_endpoint, name=f"okta-{uuid.uuid4().hex[:8]}", visibility_timeout_seconds=2
    )
