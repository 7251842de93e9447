"""The `okta_events` view and the documents the real loader indexed agree, window by window."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.landing_sql.views import open_landing
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.index_setup import drop_prefix, ensure_template
from okta_pipeline.lib.windows import windows_between
from okta_pipeline_tests.opensearch.loading_helpers import stored_sources
from okta_pipeline_tests.sql.landings import land_simulated

START = datetime(2026, 11, 30, 23, 45, tzinfo=UTC)  # the windows span two daily indices
END = START + 6 * WINDOW


@pytest.fixture
def prefix(opensearch: OpenSearch) -> Iterator[str]:
    name = f"test-sql-{uuid.uuid4().hex[:8]}"
    yield name
    drop_prefix(opensearch, name)


def test_okta_events_agree_with_the_indexed_documents(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landed = land_simulated(landing, START, END, seed=67)
    zone = LandingZone(landing)
    ensure_template(opensearch, prefix)
    windows = list(windows_between(START, END))
    report = load_windows(
        opensearch,
        [(w, zone.iter_window_lines(w)) for w in windows],
        prefix,
        DeadLetters(tmp_path / "dead.jsonl.gz"),
    )
    assert report.failed == 0 and report.dead_lettered == 0, report.summary()
    opensearch.indices.refresh(index=f"{prefix}-*")

    with open_landing(landing) as db:
        rows = db.connection.execute("SELECT window_start, uuid, raw FROM okta_events").fetchall()
    by_window: dict[datetime, set[str]] = {}
    for window, event_id, _ in rows:
        by_window.setdefault(window, set()).add(event_id)
    for window in windows:
        indexed = opensearch.search(
            index=f"{prefix}-*",
            body={
                "size": 10_000,
                "_source": False,
                "query": {
                    "range": {
                        "published": {
                            "gte": window.isoformat(),
                            "lt": (window + WINDOW).isoformat(),
                        }
                    }
                },
            },
        )
        ids = {hit["_id"] for hit in indexed["hits"]["hits"]}
        assert ids == by_window.get(window, set()), f"window {window:%H:%M}"
        assert len(ids) == len(landed.get(window, []))
    viewed = {event_id: json.loads(raw) for _, event_id, raw in rows}
    assert stored_sources(opensearch, prefix, list(viewed.values())) == viewed
    assert len(viewed) == opensearch.count(index=f"{prefix}-*")["count"] > 100
