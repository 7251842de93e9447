"""A load sends only the windows that changed since they were last loaded, on the real node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.events import format_published
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline_tests.okta.helpers import PARTITION_FORMAT
from okta_pipeline_tests.opensearch.loading_helpers import checks, count, land, load, metadata

START = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)
END = START + 6 * WINDOW
DEAD_WINDOW, GROWN_WINDOW, TOUCHED_WINDOW = START + WINDOW, START + 3 * WINDOW, START + 5 * WINDOW


def per_window(result: dg.ExecuteInProcessResult) -> dict[datetime, dict[str, Any]]:
    return {
        datetime.strptime(str(m.partition), PARTITION_FORMAT).replace(tzinfo=UTC): {
            key: value.value for key, value in m.metadata.items()
        }
        for m in result.asset_materializations_for_node("opensearch_okta_logs")
    }


def sent(result: dg.ExecuteInProcessResult) -> set[datetime]:
    return {moment for moment, meta in per_window(result).items() if meta["sent_this_run"]}


def test_only_changed_windows_are_sent_again(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    # One instance for every load: each reads the windows' records of the loads before it.
    load_range = partial(
        load, opensearch_endpoint, prefix, tmp_path, START, END, dg.DagsterInstance.ephemeral()
    )
    events = land(tmp_path, SimulatedOrg(seed=5, events_per_minute=20), START, END)
    zone = LandingZone(tmp_path)
    not_an_event = {"published": format_published(int(DEAD_WINDOW.timestamp() * 1000) + 5)}
    zone.write_window(DEAD_WINDOW, [not_an_event], START)  # no uuid: dead-lettered on every load

    first = load_range()
    assert sent(first) == {START + n * WINDOW for n in range(6)}
    assert set(checks(first)["all_events_indexed"].failed) == {_key(DEAD_WINDOW)}
    assert count(opensearch, prefix) == len(events)

    # Nothing changed: a lookback's re-fetch adds nothing, and the load sends nothing.
    unchanged = zone.window_version(GROWN_WINDOW)
    zone.write_window(GROWN_WINDOW, zone.read_window(GROWN_WINDOW), START)
    assert zone.window_version(GROWN_WINDOW) == unchanged
    second = load_range()
    assert sent(second) == set()
    totals = metadata(second)
    assert totals["windows_not_sent_again"] == 6 and totals["indexed"] == 0
    # The window's dead letter still warns on its own partition, and on no other.
    assert set(checks(second)["all_events_indexed"].failed) == {_key(DEAD_WINDOW)}
    assert checks(second)["count_parity"].passed

    # A late event lands in one window: only that window is sent.
    late = dict(events[0], uuid="late-event-0001")
    late["published"] = format_published(int(GROWN_WINDOW.timestamp() * 1000) + 1234)
    zone.write_window(GROWN_WINDOW, [late], START)
    assert zone.window_version(GROWN_WINDOW) != unchanged
    third = load_range()
    assert sent(third) == {GROWN_WINDOW}
    assert per_window(third)[GROWN_WINDOW]["window_indexed"] == 1
    assert count(opensearch, prefix) == len(events) + 1

    # A document deleted from the index: its window no longer matches its record, and is sent.
    victim = next(
        e["uuid"]
        for e in events
        if TOUCHED_WINDOW.isoformat() <= e["published"].replace("Z", "+00:00")
    )
    opensearch.delete_by_query(
        index=daily_indices(prefix),
        body={"query": {"ids": {"values": [victim]}}},
        params={"refresh": "true"},
    )
    fourth = load_range()
    assert sent(fourth) == {TOUCHED_WINDOW}
    assert per_window(fourth)[TOUCHED_WINDOW]["window_indexed"] == 1
    assert count(opensearch, prefix) == len(events) + 1

    # Asked to, a load sends every window again; the records keep the landed versions.
    forced = load_range(reload_unchanged_windows=True)
    assert sent(forced) == {START + n * WINDOW for n in range(6)}
    assert {m: meta["landed_version"] for m, meta in per_window(forced).items()} == {
        START + n * WINDOW: zone.window_version(START + n * WINDOW) for n in range(6)
    }
    assert count(opensearch, prefix) == len(events) + 1


def _key(moment: datetime) -> str:
    return moment.strftime(PARTITION_FORMAT)
