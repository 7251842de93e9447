"""A monitor owner of each test's own, whose monitors are removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.monitors.sync import MonitorSync, has_alerting


@pytest.fixture
def owner(opensearch: OpenSearch) -> Iterator[str]:
    if not has_alerting(opensearch):
        pytest.fail("the cluster under test has no Alerting plugin; `okta-pipeline opensearch up`")
    chosen = f"test-monitors-{uuid.uuid4().hex[:8]}"
    yield chosen
    MonitorSync(opensearch, chosen).sync([])
