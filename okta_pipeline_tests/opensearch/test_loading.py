"""Loading OpenSearch, against the real node: idempotence, fidelity, bad input, interruptions."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.landing import WINDOW, Event, LandingZone
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.okta_simulator.events import format_published
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, LoadInterruptedError, load_windows
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import (
    ensure_template,
)
from okta_pipeline.lib.opensearch.okta_index import (
    OKTA_MAPPING,
    count_mapped_fields,
    index_name,
)
from okta_pipeline_tests.okta.helpers import recent_window
from okta_pipeline_tests.opensearch.loading_helpers import (
    FETCHED_AT,
    checks,
    count,
    land,
    load,
    metadata,
    stored_sources,
)
from okta_pipeline_tests.stored_events import load_by_window

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "okta-samples"


def test_loading_a_window_three_times_leaves_exactly_the_raw_events(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, end = recent_window(span=WINDOW)
    events = land(tmp_path, SimulatedOrg(seed=51, events_per_minute=300), start, end)
    runs = [load(opensearch_endpoint, prefix, tmp_path, start, end) for _ in range(3)]
    assert all(run.success for run in runs)
    assert count(opensearch, prefix) == len(events) > 100
    assert metadata(runs[0])["indexed"] == len(events)
    assert [metadata(r)["unchanged"] for r in runs[1:]] == [len(events), len(events)]
    assert stored_sources(opensearch, prefix, events) == {e["uuid"]: e for e in events}
    last = checks(runs[2])
    assert last["count_parity"].passed and last["required_fields"].passed
    assert last["all_events_indexed"].passed
    # Loading three-hour-old windows is history: freshness is not the load's to judge.
    assert "newest_event_freshness" not in last


def test_a_day_as_a_range_then_one_window_again_converges(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, end = recent_window(hours_ago=6, span=timedelta(days=1))
    events = land(tmp_path, SimulatedOrg(seed=52, events_per_minute=4), start, end)
    day = load(opensearch_endpoint, prefix, tmp_path, start, end)
    middle = start + 100 * WINDOW
    again = load(opensearch_endpoint, prefix, tmp_path, middle, middle + WINDOW)
    assert day.success and again.success
    assert count(opensearch, prefix) == len(events)
    window_events = LandingZone(tmp_path).read_window(middle)
    assert (metadata(again)["indexed"], metadata(again)["unchanged"]) == (0, len(window_events))
    assert checks(day)["count_parity"].passed and checks(again)["count_parity"].passed
    # each event sits in the daily index named after its own published date
    opensearch.indices.refresh(index=f"{prefix}-*")
    placed = opensearch.search(index=f"{prefix}-*", body={"size": 10_000, "_source": ["published"]})
    assert len(placed["hits"]["hits"]) == len(events)
    for hit in placed["hits"]["hits"]:
        published = datetime.fromisoformat(hit["_source"]["published"].replace("Z", "+00:00"))
        assert hit["_index"] == index_name(prefix, published)
    windows = day.asset_materializations_for_node("opensearch_okta_logs")
    assert len(windows) == 288  # one per window, each with that window's own counts
    rows = [int(str(w.metadata["dagster/partition_row_count"].value)) for w in windows]
    assert sum(rows) == len(events)


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason="the shared okta-samples folder is not beside this checkout"
)
def test_every_recorded_okta_event_loads_with_no_field_dropped(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    events = [json.loads(line) for path in sorted(SAMPLES.glob("*.jsonl")) for line in path.open()]
    report = load_by_window(opensearch, prefix, events, tmp_path)
    assert report.failed == 0, report.summary()
    # The recordings reuse a few uuids: one in two different days (two documents, one per
    # daily index) and one twice in a day (the first copy is stored, the second is unchanged).
    expected: dict[tuple[str, str], Event] = {}
    for event in events:
        published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
        expected.setdefault((index_name(prefix, published), event["uuid"]), event)
    opensearch.indices.refresh(index=f"{prefix}-*")
    hits = opensearch.search(index=f"{prefix}-*", body={"size": 1000})["hits"]["hits"]
    assert {(h["_index"], h["_id"]): h["_source"] for h in hits} == expected
    assert any((e.get("client") or {}).get("zone") == "null" for e in events)


def extreme_events(start: datetime) -> list[Event]:
    base = {"eventType": "user.session.start", "displayMessage": "ok", "version": "0"}
    published = format_published(int(start.timestamp() * 1000) + 1000)
    return [
        base
        | {
            "uuid": "e-many-keys",
            "published": published,
            "debugContext": {"debugData": {f"key{i}": f"value {i}" for i in range(2000)}},
        },
        base
        | {
            "uuid": "e-megabyte",
            "published": published,
            "displayMessage": "x" * 1_000_000,
            "debugContext": {"debugData": {"requestUri": "/" + "y" * 1_000_000}},
            "outcome": {"result": "FAILURE", "reason": "z" * 1_000_000},
        },
        base
        | {
            "uuid": "e-dots",
            "published": published,
            "debugContext": {
                "debugData": {"a.b.c": "dotted", "client.ip": "1.2.3.4", "trailing.": "dot"}
            },
            "target": [{"id": "t1", "type": "User", "detailEntry": {"k.e.y": 1}}],
        },
        base
        | {
            "uuid": "e-unicode",
            "published": published,
            "displayMessage": "Connexion réussie — 登录成功 🙂",
            "actor": {"displayName": "Zoë Ægir", "alternateId": "zoë@exämple.com"},
        },
        base
        | {
            "uuid": "e-new-fields",
            "published": published,
            "securityContext": {
                "asNumber": "not-a-number",
                "isProxy": None,
                "userBehaviors": [{"name": "New Device", "result": "POSITIVE"}],
            },
            "client": {"ipAddress": "null", "geographicalContext": {"geolocation": None}},
            "brandNewTopLevel": {"anything": [1, "two", {"three": 3}]},
        },
    ]


def test_extreme_events_load_and_the_mapping_stays_bounded(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, _ = recent_window(span=WINDOW)
    events = extreme_events(start)
    ensure_template(opensearch, prefix)
    report = load_windows(
        opensearch,
        [(start, events)],
        prefix,
        DeadLetters(tmp_path / "dead.jsonl.gz"),
        chunk_bytes=1024 * 1024,
    )
    assert report.failed == 0, report.summary()
    assert stored_sources(opensearch, prefix, events) == {e["uuid"]: e for e in events}
    (mapping,) = opensearch.indices.get_mapping(index=f"{prefix}-*").values()
    assert count_mapped_fields(mapping["mappings"]) == count_mapped_fields(OKTA_MAPPING)
    hit = opensearch.search(
        index=f"{prefix}-*",
        body={"query": {"term": {"okta_pipeline.debug_data.requestUri": "/" + "y" * 1_000_000}}},
    )
    assert hit["hits"]["total"]["value"] == 0, "over-long values are kept but not indexed"
    ordinary = opensearch.search(
        index=f"{prefix}-*", body={"query": {"term": {"debugContext.debugData.key7": "value 7"}}}
    )
    assert ordinary["hits"]["total"]["value"] == 0, "keys outside the mapping are not indexed"
    unicode = opensearch.search(
        index=f"{prefix}-*", body={"query": {"match": {"displayMessage": "réussie"}}}
    )
    assert [h["_id"] for h in unicode["hits"]["hits"]] == ["e-unicode"]


def test_an_event_opensearch_cannot_parse_is_dead_lettered_with_its_reason(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    """A shape no Okta path is known to send (an object field given as text) still cannot be
    indexed: it is dead-lettered with OpenSearch's reason and the rest of the window loads."""
    start, _ = recent_window(span=WINDOW)
    published = format_published(int(start.timestamp() * 1000))
    fine = {"uuid": "fine", "published": published, "eventType": "x"}
    clash = fine | {"uuid": "clash", "client": "a client that is text"}
    ensure_template(opensearch, prefix)
    dead = DeadLetters(tmp_path / "dead.jsonl.gz")
    report = load_windows(opensearch, [(start, [fine, clash])], prefix, dead)
    assert report.dead_lettered == 1 and report.failed == 0 and dead.count == 1
    assert "mapper_parsing_exception (400)" in report.summary()
    assert "uuid='clash'" in report.summary()
    assert set(stored_sources(opensearch, prefix, [fine, clash])) == {"fine"}


def test_malformed_events_are_dead_lettered_reported_and_the_rest_loads(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, end = recent_window(span=WINDOW)
    good = [
        s.event
        for s in SimulatedOrg(seed=53, events_per_minute=20).published_between(
            int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        )
    ]
    no_uuid = dict(good[0]) | {"uuid": None}
    bad_date = dict(good[1]) | {"uuid": "bad-date-event", "published": "yesterday-ish"}
    LandingZone(tmp_path).write_window(start, [*good, no_uuid, bad_date], FETCHED_AT)

    result = load(opensearch_endpoint, prefix, tmp_path, start, end)
    assert result.success, "items that are not events must not hold the window back"
    assert count(opensearch, prefix) == len(good)
    found = checks(result)
    assert found["count_parity"].passed, "documents plus dead letters equal the landed items"
    assert not found["required_fields"].passed
    indexed = found["all_events_indexed"]
    assert not indexed.passed and indexed.severity == dg.AssetCheckSeverity.WARN
    assert "2 items were dead-lettered" in indexed.description
    assert "missing uuid: 1" in indexed.description
    assert "unparseable published: 1" in indexed.description
    dead_letter = Path(metadata(result)["dead_letter_file"])
    with gzip.open(dead_letter, "rt") as lines:
        records = [json.loads(line) for line in lines]
    assert sorted(r["reason"] for r in records) == ["missing uuid", "unparseable published"]
    assert [r["event"] for r in records if r["reason"] == "missing uuid"] == [no_uuid]


@pytest.mark.skipif(
    external_endpoint(os.environ) is not None,
    reason="needs the local node, which this test stops and restarts",
)
def test_a_node_stopped_mid_load_fails_clearly_and_a_rerun_converges(
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    local_layout: NodeLayout,
    prefix: str,
    tmp_path: Path,
) -> None:
    start, end = recent_window(hours_ago=8, span=timedelta(hours=2))
    events = land(tmp_path, SimulatedOrg(seed=54, events_per_minute=60), start, end)
    zone = LandingZone(tmp_path)
    ensure_template(opensearch, prefix)

    def windows_then_stop() -> Iterator[tuple[datetime, list[Event]]]:
        moment = start
        while moment < end:
            if moment == start + 6 * WINDOW:
                node.stop(local_layout)  # the real node goes away in the middle of the load
            yield moment, zone.read_window(moment)
            moment += WINDOW

    try:
        with pytest.raises(LoadInterruptedError, match=r"stopped answering.*re-run") as failure:
            load_windows(
                opensearch,
                windows_then_stop(),
                prefix,
                DeadLetters(tmp_path / "dead.jsonl.gz"),
                chunk_bytes=64 * 1024,
            )
        assert "events were stored" in str(failure.value)
    finally:
        node.start(local_layout, port=int(opensearch_endpoint.url.rsplit(":", 1)[1]))
    partial = count(opensearch, prefix)
    assert 0 < partial < len(events)
    rerun = load(opensearch_endpoint, prefix, tmp_path, start, end)
    assert rerun.success
    assert count(opensearch, prefix) == len(events)
    assert metadata(rerun)["unchanged"] == partial


def test_template_setup_is_idempotent(opensearch: OpenSearch, prefix: str) -> None:
    assert ensure_template(opensearch, prefix) is True
    assert ensure_template(opensearch, prefix) is False
    assert ensure_template(opensearch, prefix, replicas=1) is True


def test_a_write_blocked_index_stops_the_load_without_blaming_the_events(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, _ = recent_window(span=WINDOW)
    published = format_published(int(start.timestamp() * 1000))
    events = [{"uuid": f"blocked-{i}", "published": published, "eventType": "x"} for i in range(3)]
    ensure_template(opensearch, prefix)
    blocked = index_name(prefix, start)
    opensearch.indices.create(index=blocked)
    opensearch.indices.put_settings(index=blocked, body={"index.blocks.write": True})
    try:
        dead = DeadLetters(tmp_path / "dead.jsonl.gz")
        with pytest.raises(
            LoadInterruptedError, match=r"cluster_block_exception.*blocked for writes"
        ):
            load_windows(opensearch, [(start, events)], prefix, dead)
        assert dead.count == 0, "a blocked index is not the events' fault"
    finally:
        opensearch.indices.put_settings(index=blocked, body={"index.blocks.write": False})


def test_an_over_long_uuid_is_dead_lettered_instead_of_failing_the_batch(
    opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    start, _ = recent_window(span=WINDOW)
    published = format_published(int(start.timestamp() * 1000))
    good = {"uuid": "ordinary", "published": published, "eventType": "x"}
    long_id = {"uuid": "u" * 600, "published": published, "eventType": "x"}
    ensure_template(opensearch, prefix)
    report = load_windows(
        opensearch, [(start, [long_id, good])], prefix, DeadLetters(tmp_path / "dead.jsonl.gz")
    )
    assert dict(report.dead_letter_reasons) == {"uuid longer than 512 bytes": 1}
    assert count(opensearch, prefix) == 1
