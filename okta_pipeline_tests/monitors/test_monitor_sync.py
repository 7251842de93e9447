"""Monitor sync against the real node's Alerting: what a sync creates, updates and deletes, what
it never touches, and that an update keeps a monitor's active alerts active."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.model import Kind, ThresholdLogic
from okta_pipeline.lib.monitors import sync as monitor_sync
from okta_pipeline.lib.monitors.compile import (
    MonitorOptions,
    compile_monitor,
    marker_of,
    pipeline_only_reason,
)
from okta_pipeline.lib.monitors.sync import MONITORS, MonitorSync, MonitorSyncError
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.monitors.helpers import alerts_of, catalog_monitors, execute
from okta_pipeline_tests.stored_events import index_events

CATALOG = list(load_catalog().enabled())
EXPRESSIBLE = sorted(d.id for d in CATALOG if pipeline_only_reason(d) is None)
# Detections that have a monitor, in catalog order (stateful ones sort among them by id).
MONITORED = [d for d in CATALOG if pipeline_only_reason(d) is None]


# Scheduled (so that Alerting reconciles its alerts when a monitor changes), but never due.
YEARLY = {"cron": {"expression": "0 0 1 1 *", "timezone": "UTC"}}


def options_for(owner: str, **overrides: Any) -> MonitorOptions:
    chosen: dict[str, Any] = {"enabled": False, **overrides}
    return MonitorOptions(indices=daily_indices(owner), owner=owner, **chosen)


def stored_body(opensearch: OpenSearch, monitor_id: str) -> dict[str, Any]:
    found = opensearch.transport.perform_request("GET", f"{MONITORS}/{monitor_id}")
    return dict(found["monitor"])


def test_every_single_event_and_threshold_detection_has_a_monitor_and_stateful_ones_do_not() -> (
    None
):
    kinds = {d.id: d.kind for d in CATALOG}
    assert len(EXPRESSIBLE) >= 30
    assert {kinds[i] for i in EXPRESSIBLE} == {Kind.SINGLE_EVENT, Kind.THRESHOLD}
    for detection in CATALOG:
        reason = pipeline_only_reason(detection)
        assert (reason is None) == (detection.kind is not Kind.STATEFUL), detection.id
        if reason:
            assert compile_monitor(detection, options_for("x")) is None
            assert reason.startswith("stateful: ") and len(reason) > 30


def test_a_first_sync_creates_every_monitor_and_a_second_changes_nothing(
    opensearch: OpenSearch, owner: str
) -> None:
    desired = catalog_monitors(CATALOG, options_for(owner))
    sync = MonitorSync(opensearch, owner)

    first = sync.sync(desired)
    assert first.created == EXPRESSIBLE
    assert first.summary() == {
        "created": len(EXPRESSIBLE),
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "total": len(EXPRESSIBLE),
    }
    second = sync.sync(catalog_monitors(CATALOG, options_for(owner)))
    assert (second.created, second.updated, second.deleted) == ([], [], [])
    assert second.unchanged == EXPRESSIBLE
    assert sync.differences(desired) == {}

    stored = sync.stored()
    brute = stored_body(opensearch, stored["okta_brute_force_user"].id)
    assert brute["name"] == "okta_pipeline/okta_brute_force_user: Brute force against one Okta user"
    assert brute["monitor_type"] == "bucket_level_monitor"
    (trigger,) = brute["triggers"]
    assert trigger["bucket_level_trigger"]["id"] == "okta_brute_force_user.trigger"
    assert trigger["bucket_level_trigger"]["severity"] == "2"  # high
    assert marker_of(brute)["owner"] == owner


def test_changing_one_detection_updates_only_its_monitor_and_its_active_alert_stays_active(
    opensearch: OpenSearch, owner: str, tmp_path: Path
) -> None:
    detection = load_catalog().get("okta_brute_force_user")
    assert isinstance(detection.logic, ThresholdLogic)
    positive = next(e for e in detection.examples if e.expect_finding)
    anchor = datetime(2026, 11, 20, 10, 1, tzinfo=UTC)
    try:
        index_events(opensearch, owner, example_events(positive, anchor, "update"), tmp_path)
        sync = MonitorSync(opensearch, owner)
        scheduled = options_for(owner, enabled=True, schedule=YEARLY)
        sync.sync(catalog_monitors(CATALOG, scheduled))
        before = sync.stored()["okta_brute_force_user"]
        flagged = execute(opensearch, before.id, datetime(2026, 11, 20, 10, 15, tzinfo=UTC))
        assert flagged, "the monitor should flag its positive example"
        execute(opensearch, before.id, datetime(2026, 11, 20, 10, 15, tzinfo=UTC), dryrun=False)
        (alert,) = [a for a in alerts_of(opensearch, before.id) if a["state"] == "ACTIVE"]

        stricter = dataclasses.replace(
            detection,
            version=detection.version + 1,
            logic=dataclasses.replace(detection.logic, minimum=detection.logic.minimum + 1),
        )
        changed = [stricter if d.id == detection.id else d for d in CATALOG]
        report = sync.sync(catalog_monitors(changed, scheduled))
        assert (report.updated, report.created, report.deleted) == ([detection.id], [], [])
        assert len(report.unchanged) == len(EXPRESSIBLE) - 1

        after = sync.stored()["okta_brute_force_user"]
        body = stored_body(opensearch, after.id)
        assert after.id == before.id and after.seq_no > before.seq_no
        assert body["triggers"][0]["bucket_level_trigger"]["id"] == "okta_brute_force_user.trigger"
        assert f">= {detection.logic.minimum + 1}" in json.dumps(body["triggers"])
        assert marker_of(body)["detection_version"] == detection.version + 1
        # Alerting moves the alerts of triggers a monitor no longer has to DELETED within about
        # a second of the update (measured with a changed trigger id); watch for five.
        for _ in range(10):
            states = {a["id"]: a["state"] for a in alerts_of(opensearch, after.id)}
            assert states == {alert["id"]: "ACTIVE"}, states
            time.sleep(0.5)
    finally:
        drop_prefix(opensearch, owner)


def test_removing_one_detection_deletes_only_its_monitor_and_nothing_else_is_touched(
    opensearch: OpenSearch, owner: str
) -> None:
    sync = MonitorSync(opensearch, owner)
    sync.sync(catalog_monitors(CATALOG, options_for(owner)))
    neighbour = f"{owner}-neighbour"
    neighbours = MonitorSync(opensearch, neighbour)
    neighbours.sync(catalog_monitors(MONITORED[:3], options_for(neighbour)))
    by_hand = hand_made_monitor(opensearch, "An analyst's own brute force monitor", owner)
    # Named like one of ours, but made by hand: it carries no marker, so it is not ours either.
    lookalike = hand_made_monitor(
        opensearch, "okta_pipeline/okta_brute_force_user: Brute force against one Okta user", owner
    )
    try:
        removed = "okta_password_spray"
        fewer = [d for d in CATALOG if d.id != removed]
        report = sync.sync(catalog_monitors(fewer, options_for(owner)))
        assert (report.deleted, report.created, report.updated) == ([removed], [], [])
        assert removed not in sync.stored()
        assert len(sync.stored()) == len(EXPRESSIBLE) - 1
        for kept in (by_hand, lookalike):
            assert stored_body(opensearch, kept)["enabled"] is False
        assert len(neighbours.stored()) == 3

        report = sync.sync([])
        assert len(report.deleted) == len(EXPRESSIBLE) - 1
        assert len(neighbours.stored()) == 3 and stored_body(opensearch, by_hand)
    finally:
        neighbours.sync([])
        for monitor_id in (by_hand, lookalike):
            opensearch.transport.perform_request("DELETE", f"{MONITORS}/{monitor_id}")


def test_a_sync_finds_its_monitors_beyond_the_first_page_of_the_search(
    opensearch: OpenSearch, owner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another owner's monitors, stored first, fill the first pages; the sync pages past them
    and finds its own, so a second sync creates nothing and leaves no duplicates."""
    other = f"{owner}-other"
    others = [
        create_monitor(opensearch, body)
        for body in catalog_monitors(MONITORED[:5], options_for(other))
    ]
    try:
        monkeypatch.setattr(monitor_sync, "SEARCH_SIZE", 2)
        sync = MonitorSync(opensearch, owner)
        desired = catalog_monitors(MONITORED[:3], options_for(owner))
        ids = sorted(marker_of(body)["detection_id"] for body in desired)
        assert sync.sync(desired).created == ids

        second = sync.sync(desired)
        assert (second.created, second.updated, second.deleted) == ([], [], [])
        assert second.unchanged == ids
        assert sync.differences(desired) == {}
        assert sorted(sync.stored()) == ids
        assert sorted(detection_ids_of(opensearch, owner)) == ids  # one monitor each
        assert len(detection_ids_of(opensearch, other)) == len(others)
    finally:
        for monitor_id in others:
            opensearch.transport.perform_request(
                "DELETE", f"{MONITORS}/{monitor_id}", params={"refresh": "true"}
            )


def create_monitor(opensearch: OpenSearch, body: dict[str, Any]) -> str:
    created = opensearch.transport.perform_request(
        "POST", MONITORS, body=body, params={"refresh": "true"}
    )
    return str(created["_id"])


def detection_ids_of(opensearch: OpenSearch, owner: str) -> list[str]:
    """The detection id of every stored monitor of the owner, read apart from the sync."""
    found = opensearch.transport.perform_request(
        "POST",
        f"{MONITORS}/_search",
        body={"size": 10_000, "query": {"term": {"monitor.type": "monitor"}}},
    )
    hits = found["hits"]["hits"]
    markers = [marker_of(hit["_source"].get("monitor", hit["_source"])) for hit in hits]
    return [str(m["detection_id"]) for m in markers if m.get("owner") == owner]


def hand_made_monitor(opensearch: OpenSearch, name: str, prefix: str) -> str:
    created = opensearch.transport.perform_request(
        "POST",
        MONITORS,
        body={
            "type": "monitor",
            "monitor_type": "query_level_monitor",
            "name": name,
            "enabled": False,
            "schedule": {"period": {"interval": 5, "unit": "MINUTES"}},
            "inputs": [
                {
                    "search": {
                        "indices": [daily_indices(prefix)],
                        "query": {"size": 0, "query": {"match_all": {}}},
                    }
                }
            ],
            "triggers": [],
        },
        params={"refresh": "true"},
    )
    return str(created["_id"])


def test_a_monitor_edited_during_a_sync_is_not_overwritten(
    opensearch: OpenSearch, owner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = MonitorSync(opensearch, owner)
    sync.sync(catalog_monitors(MONITORED[:5], options_for(owner)))
    snapshot = sync.stored()
    target = sorted(snapshot)[0]
    edited = stored_body(opensearch, snapshot[target].id)
    edited["enabled"] = True
    opensearch.transport.perform_request(
        "PUT", f"{MONITORS}/{snapshot[target].id}", body=edited, params={"refresh": "true"}
    )
    monkeypatch.setattr(sync, "_scan", lambda: (snapshot, []))  # the sync read before the edit
    with pytest.raises(MonitorSyncError, match=f"{target}.*changed while it was being updated"):
        sync.sync(catalog_monitors(MONITORED[:5], options_for(owner, lag=timedelta(minutes=20))))
    assert stored_body(opensearch, snapshot[target].id)["enabled"] is True


def test_a_monitor_the_cluster_refuses_names_its_detection_and_the_fix(
    opensearch: OpenSearch, owner: str
) -> None:
    never = {"period": {"interval": 0, "unit": "MINUTES"}}
    desired = catalog_monitors(MONITORED[:1], options_for(owner, schedule=never))
    with pytest.raises(MonitorSyncError) as refused:
        MonitorSync(opensearch, owner).sync(desired)
    message = str(refused.value)
    assert MONITORED[0].id in message and "400" in message and "sync again" in message
