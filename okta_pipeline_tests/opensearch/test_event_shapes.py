"""Every shape an Okta event takes in the wild loads, through the asset, on the real node."""

from __future__ import annotations

import copy
import gzip
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import WINDOW, Event, LandingZone
from okta_pipeline.lib.okta_simulator.events import format_published
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import ensure_template, indices_with_older_mapping
from okta_pipeline.lib.opensearch.okta_index import OKTA_MAPPING, index_name
from okta_pipeline_tests.okta.helpers import recent_window
from okta_pipeline_tests.opensearch.event_shapes import (
    NOT_EVENT_REASONS,
    VARIANTS,
    not_events,
    shape_corpus,
)
from okta_pipeline_tests.opensearch.loading_helpers import (
    FETCHED_AT,
    checks,
    load,
    metadata,
    stored_sources,
)


def realistic_event(start: Any) -> Event:
    """A simulated sign-in with every common field, published inside the window."""
    org = SimulatedOrg(seed=61, events_per_minute=30)
    window = (int(start.timestamp() * 1000), int((start + WINDOW).timestamp() * 1000))
    return next(
        s.event
        for s in org.published_between(*window)
        if s.event["eventType"] == "user.session.start"
    )


def matching(opensearch: OpenSearch, prefix: str, query: dict[str, Any]) -> set[str]:
    response = opensearch.search(index=f"{prefix}-*", body={"size": 100, "query": query})
    return {hit["_id"] for hit in response["hits"]["hits"]}


def test_every_shape_loads_with_its_source_intact_and_only_non_events_are_dead_lettered(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, end = recent_window(span=WINDOW)
    base = realistic_event(start)
    corpus = shape_corpus(base)
    no_event_type = {**copy.deepcopy(base), "uuid": "shape-no-event-type"}
    del no_event_type["eventType"]
    events = [*corpus, no_event_type]
    zone = LandingZone(tmp_path)
    zone.write_window(start, events, FETCHED_AT)
    # Lines that are not events cannot come from Okta's API; they reach a window file through
    # imports and replays. They are appended as they are.
    with gzip.open(tmp_path / zone.window_key(start), "at", encoding="utf-8") as window_file:
        window_file.write("\n".join(not_events(base)) + "\n")

    result = load(opensearch_endpoint, prefix, tmp_path, start, end)

    assert result.success, "items that are not events must not hold the window back"
    found = checks(result)
    assert found["count_parity"].passed
    indexed = found["all_events_indexed"]
    assert not indexed.passed and indexed.severity == dg.AssetCheckSeverity.WARN
    assert indexed.metadata["reasons"].value == NOT_EVENT_REASONS
    problems = found["required_fields"].metadata["problems"].value
    assert problems["missing eventType"] == 1, "an event lacking what detections need is caught"
    assert metadata(result)["dead_lettered"] == len(NOT_EVENT_REASONS)
    assert stored_sources(opensearch, prefix, events) == {e["uuid"]: e for e in events}
    assert len(events) == len(VARIANTS) + 1


def test_the_typed_view_answers_the_same_for_every_shape(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, _ = recent_window(span=WINDOW)
    ensure_template(opensearch, prefix)
    corpus = shape_corpus(realistic_event(start))
    report = load_windows(
        opensearch, [(start, corpus)], prefix, DeadLetters(tmp_path / "dead.jsonl.gz")
    )
    assert report.dead_lettered == 0 and report.failed == 0, report.summary()
    opensearch.indices.refresh(index=f"{prefix}-*")
    view = "okta_pipeline"
    assert matching(opensearch, prefix, {"term": {f"{view}.behaviors": "New IP=POSITIVE"}}) == {
        "shape-behaviors-text",
        "shape-behaviors-object",
        "shape-debug-data-json-text",
        "shape-log-only-security-data",
    }
    assert matching(opensearch, prefix, {"term": {f"{view}.risk_level": "HIGH"}}) == {
        "shape-risk-text",
        "shape-risk-object",
        "shape-debug-data-json-text",
        "shape-log-only-security-data",
    }
    reasons = {"term": {f"{view}.risk_reasons": "Anomalous Location, Anomalous Device"}}
    assert "shape-risk-text" in matching(opensearch, prefix, reasons)
    threat = matching(opensearch, prefix, {"term": {f"{view}.threat_suspected": True}})
    assert threat == {"shape-threat-suspected-text", "shape-threat-suspected-boolean"}
    proxies = matching(opensearch, prefix, {"term": {f"{view}.is_proxy": True}})
    assert proxies == {"shape-is-proxy-true-text"}
    token = matching(opensearch, prefix, {"term": {f"{view}.api_token_id": "00T9"}})
    assert token == {"shape-transaction-detail-token"}
    unicode = {"term": {f"{view}.debug_data.requestUri": "/é"}}
    assert matching(opensearch, prefix, unicode) == {"shape-unicode-keys"}
    # Raw fields that keep one type stay searchable where they are.
    assert "shape-numbers-as-text" in matching(
        opensearch, prefix, {"term": {"securityContext.asNumber": 15169}}
    )
    hit = opensearch.get(index=index_name(prefix, start), id="shape-risk-text")
    assert view not in hit["_source"], "the typed view is indexed, never stored in _source"


def test_an_event_over_the_size_limit_is_dead_lettered_and_the_rest_loads(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, _ = recent_window(span=WINDOW)
    published = format_published(int(start.timestamp() * 1000))
    small = {"uuid": "small", "published": published, "eventType": "x"}
    large = {**small, "uuid": "large", "displayMessage": "x" * 5000}
    ensure_template(opensearch, prefix)
    dead = DeadLetters(tmp_path / "dead.jsonl.gz")
    report = load_windows(opensearch, [(start, [small, large])], prefix, dead, max_event_bytes=4096)
    assert dict(report.dead_letter_reasons) == {"event larger than 4096 bytes": 1}
    assert set(stored_sources(opensearch, prefix, [small, large])) == {"small"}


def test_an_index_made_with_an_older_mapping_keeps_working_and_is_reported(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    """The template moves forward; a daily index created before keeps its own mapping."""
    start, _ = recent_window(span=WINDOW)
    yesterday = start - timedelta(days=1)
    older = copy.deepcopy(OKTA_MAPPING)
    del older["_meta"], older["_source"], older["properties"]["okta_pipeline"]
    older["properties"]["debugContext"] = {
        "type": "object",
        "dynamic": False,
        "properties": {"debugData": {"properties": {"requestUri": {"type": "keyword"}}}},
    }
    old_index = index_name(prefix, yesterday)
    opensearch.indices.create(index=old_index, body={"mappings": older})
    assert ensure_template(opensearch, prefix)
    base = realistic_event(start)
    ordinary = {
        **base,
        "uuid": "old-day",
        "published": format_published(int(yesterday.timestamp() * 1000)),
    }
    today = {**base, "uuid": "new-day", "debugContext": {"debugData": ""}}
    report = load_windows(
        opensearch,
        [(start - timedelta(days=1), [ordinary]), (start, [today])],
        prefix,
        DeadLetters(tmp_path / "dead.jsonl.gz"),
    )
    assert report.dead_lettered == 0, report.summary()
    assert set(stored_sources(opensearch, prefix, [ordinary, today])) == {"old-day", "new-day"}
    assert indices_with_older_mapping(
        opensearch, prefix, [old_index, index_name(prefix, start)]
    ) == [old_index]
