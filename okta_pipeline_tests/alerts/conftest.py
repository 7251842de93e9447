"""Jira and Slack stand-ins over real sockets, and a fresh delivery ledger per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.alerts.ledger import Ledger
from okta_pipeline.lib.standins.jira import JiraStandIn
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline_tests.alerts.helpers import (
    CHANNEL,
    JIRA_EMAIL,
    JIRA_TOKEN,
    SLACK_TOKEN,
    Waits,
    fresh_ledger,
)


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
    with fresh_ledger(opensearch) as book:
        yield book


@pytest.fixture
def waits() -> Waits:
    return Waits()
