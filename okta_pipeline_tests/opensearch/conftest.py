"""Fixtures for tests that write Okta indices: each test gets its own index prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.opensearch.index_setup import drop_prefix


@pytest.fixture
def prefix(opensearch: OpenSearch) -> Iterator[str]:
    """A fresh `test-okta-<id>` prefix; its indices, template and policy are dropped afterwards."""
    name = f"test-okta-{uuid.uuid4().hex[:8]}"
    yield name
    drop_prefix(opensearch, name)
