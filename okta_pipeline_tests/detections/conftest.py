"""Fixtures for detection tests: a fresh prefix for events and one for findings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices


@dataclass(frozen=True)
class Prefixes:
    logs: str
    findings: str

    @property
    def logs_index(self) -> str:
        return daily_indices(self.logs)


@pytest.fixture
def prefixes(opensearch: OpenSearch) -> Iterator[Prefixes]:
    tag = uuid.uuid4().hex[:8]
    chosen = Prefixes(logs=f"test-detect-{tag}", findings=f"test-findings-{tag}")
    yield chosen
    drop_prefix(opensearch, chosen.logs)
    opensearch.indices.delete(index=f"{chosen.findings}-*", params={"ignore_unavailable": "true"})
    opensearch.indices.delete_index_template(name=chosen.findings, params={"ignore": 404})
