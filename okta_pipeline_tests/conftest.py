"""Shared fixtures: every integration test runs against a real OpenSearch node."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.deployment import PARTITIONS_START_VARIABLE
from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect
from okta_pipeline.lib.opensearch.index_setup import (
    ISM_PLUGIN,
    drop_prefix,
    ensure_retention_policy,
    ensure_template,
    has_plugin,
)
from okta_pipeline_tests.catalog_examples import LoadedExamples, drop_examples, load_examples
from okta_pipeline_tests.stored_events import Prefixes

# The suite's fixed windows (November 2026) would fall before the rolling default start from
# March 2027 on: the partitions start where those dates were written for. Set before any test
# module imports the partitions; child processes inherit it.
os.environ[PARTITIONS_START_VARIABLE] = "2026-08-01"
# Commands that record runs in the local Dagster instance (the demo, the UI) record the
# suite's in an instance of its own, never in the project's `.dagster_home`.
os.environ["DAGSTER_HOME"] = tempfile.mkdtemp(prefix="okta-pipeline-tests-dagster-")


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
def opensearch(
    opensearch_endpoint: OpenSearchSettings, retention_probe: RetentionProbe | None
) -> OpenSearch:
    # Requesting the probe here starts it with the first test that uses the node.
    return connect(opensearch_endpoint)


@dataclass(frozen=True)
class RetentionProbe:
    """An index under a one-minute ISM retention policy, created when the session starts."""

    index: str
    started: float


@pytest.fixture(scope="session")
def retention_probe(opensearch_endpoint: OpenSearchSettings) -> Iterator[RetentionProbe | None]:
    """ISM takes about three minutes to initialise, age and delete an index (its job runs once a
    minute on the local node). The probe starts that clock as the node comes up; the test that
    checks the end of it runs last, so the suite does not wait for it."""
    if external_endpoint(os.environ) is not None:
        yield None
        return
    client = connect(opensearch_endpoint)
    if not has_plugin(client, ISM_PLUGIN):
        yield None
        return
    prefix = f"test-ism-probe-{uuid.uuid4().hex[:8]}"
    ensure_template(client, prefix)
    ensure_retention_policy(client, prefix, timedelta(minutes=1))
    index = f"{prefix}-2026.10.01"
    client.index(index=index, id="probe", body={"uuid": "probe"}, refresh=True)
    yield RetentionProbe(index, time.monotonic())
    drop_prefix(client, prefix)


@pytest.fixture
def prefixes(opensearch: OpenSearch) -> Iterator[Prefixes]:
    """Fresh index prefixes for events and findings, dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    chosen = Prefixes(logs=f"test-detect-{tag}", findings=f"test-findings-{tag}")
    yield chosen
    drop_prefix(opensearch, chosen.logs)
    opensearch.indices.delete(index=f"{chosen.findings}-*", params={"ignore_unavailable": "true"})
    opensearch.indices.delete_index_template(name=chosen.findings, params={"ignore": 404})


@pytest.fixture(scope="session")
def catalog_examples(
    opensearch: OpenSearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoadedExamples]:
    """Every detection's examples loaded once, with the pipeline's findings over them."""
    prefix = f"test-examples-{uuid.uuid4().hex[:8]}"
    try:
        yield load_examples(opensearch, prefix, tmp_path_factory.mktemp("examples"))
    finally:
        drop_prefix(opensearch, prefix)
        drop_examples(opensearch, prefix)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked runs_last go to the end, in their order."""
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)
