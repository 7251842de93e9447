"""Retention on the real node: ISM through the policy's index template, and clean-up by name."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.opensearch.retention import okta_index_retention
from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.landing import WINDOW
from okta_pipeline.lib.okta_simulator.events import format_published
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import (
    delete_expired_indices,
    ensure_retention_policy,
    ensure_template,
    ism_age,
    retention_policy_id,
)
from okta_pipeline.lib.opensearch.okta_index import index_name
from okta_pipeline_tests.conftest import RetentionProbe
from okta_pipeline_tests.okta.helpers import recent_window
from okta_pipeline_tests.opensearch.loading_helpers import resource


def explain(opensearch: OpenSearch, index: str) -> dict[str, Any]:
    managed: dict[str, Any] = opensearch.transport.perform_request(
        "GET", f"/_plugins/_ism/explain/{index}"
    )[index]
    return managed


def load_one_event(opensearch: OpenSearch, prefix: str, tmp_path: Path) -> str:
    """Index one event through the project's template and loader; return its daily index."""
    start, _ = recent_window(span=WINDOW)
    event = {"uuid": "kept", "published": format_published(int(start.timestamp() * 1000))}
    report = load_windows(
        opensearch, [(start, [event])], prefix, DeadLetters(tmp_path / "dead.jsonl.gz")
    )
    assert report.failed == 0
    return index_name(prefix, start)


def test_ism_age_uses_the_largest_whole_unit() -> None:
    assert ism_age(timedelta(days=90)) == "90d"
    assert ism_age(timedelta(hours=36)) == "36h"
    assert ism_age(timedelta(minutes=1)) == "1m"
    assert ism_age(timedelta(seconds=90)) == "90s"
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        ism_age(timedelta(0))


def test_retention_policy_attaches_itself_to_new_indices_of_the_prefix(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    ensure_template(opensearch, prefix)
    assert ensure_retention_policy(opensearch, prefix, timedelta(days=90)) == (
        f"created {retention_policy_id(prefix)}"
    )
    assert ensure_retention_policy(opensearch, prefix, timedelta(days=90)).startswith("unchanged")
    assert ensure_retention_policy(opensearch, prefix, timedelta(days=30)).startswith("updated")
    index = load_one_event(opensearch, prefix, tmp_path)
    # ISM attaches policies to new indices shortly after they appear in the cluster state.
    deadline = time.monotonic() + 30
    while "policy_id" not in (managed := explain(opensearch, index)):
        assert time.monotonic() < deadline, f"{index} is not managed: {managed}"
        time.sleep(0.5)
    assert managed["policy_id"] == retention_policy_id(prefix)
    assert managed["enabled"] is True


def test_retention_deletes_indices_by_their_name_date(opensearch: OpenSearch, prefix: str) -> None:
    today = datetime.now(UTC).date()
    old = f"{prefix}-{today - timedelta(days=120):%Y.%m.%d}"
    recent = f"{prefix}-{today - timedelta(days=3):%Y.%m.%d}"
    for name in (old, recent):
        opensearch.indices.create(index=name)  # both created now, as a backfill would
    assert delete_expired_indices(opensearch, prefix, retention_days=90) == [old]
    assert opensearch.indices.exists(index=recent) and not opensearch.indices.exists(index=old)


def test_the_retention_asset_applies_the_policy_and_deletes_what_is_past_retention(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str
) -> None:
    today = datetime.now(UTC).date()
    old = f"{prefix}-{today - timedelta(days=40):%Y.%m.%d}"
    recent = f"{prefix}-{today - timedelta(days=29):%Y.%m.%d}"
    for name in (old, recent):
        opensearch.indices.create(index=name)
    result = dg.materialize(
        [okta_index_retention],
        resources={"opensearch": resource(opensearch_endpoint, prefix, retention_days=30)},
    )
    metadata = result.asset_materializations_for_node("okta_index_retention")[0].metadata
    assert metadata["deleted_indices"].value == [old]
    assert metadata["ism_policy"].value == f"created {retention_policy_id(prefix)}"
    assert metadata["retention_days"].value == 30
    assert opensearch.indices.exists(index=recent) and not opensearch.indices.exists(index=old)
    policy = opensearch.transport.perform_request(
        "GET", f"/_plugins/_ism/policies/{retention_policy_id(prefix)}"
    )
    assert "30d" in json.dumps(policy["policy"]["states"])


@pytest.mark.runs_last
@pytest.mark.skipif(
    external_endpoint(os.environ) is not None,
    reason="relies on the local node's one-minute ISM job interval",
)
def test_ism_deletes_an_index_once_it_is_past_retention(
    opensearch: OpenSearch, retention_probe: RetentionProbe | None
) -> None:
    """The whole ISM path on the local node: the probe's index, created under a one-minute
    retention policy when the session began, is initialised, aged out and deleted."""
    assert retention_probe is not None, "the local node has no Index Management plugin"
    states: list[str | None] = []
    deadline = retention_probe.started + 480
    while opensearch.indices.exists(index=retention_probe.index):
        assert time.monotonic() < deadline, (
            f"ISM did not delete {retention_probe.index} within 8 minutes; it went through {states}"
        )
        state = explain(opensearch, retention_probe.index).get("state", {}).get("name")
        if not states or states[-1] != state:
            states.append(state)
        time.sleep(5)
