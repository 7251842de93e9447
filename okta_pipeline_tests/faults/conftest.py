"""The fault suite's table, printed at the end of the session, and its index prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline_tests.faults.outcome import ROWS, render


@pytest.fixture
def prefix(opensearch: OpenSearch) -> Iterator[str]:
    """A fresh index prefix for the scenario, dropped afterwards."""
    name = f"test-fault-{uuid.uuid4().hex[:8]}"
    yield name
    drop_prefix(opensearch, name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.write_sep("=", "fault suite: events lost, doubled or over budget")
        terminalreporter.write_line(render(ROWS))
