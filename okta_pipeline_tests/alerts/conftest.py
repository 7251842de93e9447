"""Jira and Slack stand-ins over real sockets, and a fresh delivery ledger per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline_tests.alerts.helpers import CHANNEL, JIRA_EMAIL, JIRA_TOKEN, SLACK_TOKEN, Waits


@pytest.fixture
def jira() -> Iterator[JiraStandIn]:
    with JiraStandIn(JIRA_EMAIL, JIRA_TOKEN) as server:
        assert isinstance(server, JiraStandIn)
        yield server


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(SLACK_TOKEN, CHANNEL) as server:
        assert isinstance(server, SlackStandIn)
        yield server


@pytest.fixture
def ledger(opensearch: OpenSearch) -> Iterator[Ledger]:
    book = Ledger(opensearch, f"test-ledger-{uuid.uuid4().hex[:8]}")
    book.ensure_index()
    yield book
    opensearch.indices.delete(index=book.index, params={"ignore_unavailable": "true"})


@pytest.fixture
def waits() -> Waits:
    return Waits()
