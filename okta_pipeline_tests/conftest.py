"""Shared fixtures: every integration test runs against a real OpenSearch node."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect


@pytest.fixture(scope="session")
def local_layout() -> NodeLayout:
    return NodeLayout.default(os.environ)


@pytest.fixture(scope="session")
def opensearch_endpoint(
    local_layout: NodeLayout, pytestconfig: pytest.Config
) -> Iterator[OpenSearchSettings]:
    """OPENSEARCH_URL's cluster, or the local node: started if needed, stopped if we started it."""
    external = external_endpoint(os.environ)
    if external is not None:
        yield external
        return
    # The first assembly builds plugins for minutes: show its progress instead of capturing it.
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        running = node.start(local_layout, progress=lambda message: print(message, flush=True))
    yield OpenSearchSettings(running.url)
    if running.started:
        node.stop(local_layout)


@pytest.fixture(scope="session")
def opensearch(opensearch_endpoint: OpenSearchSettings) -> OpenSearch:
    return connect(opensearch_endpoint)
