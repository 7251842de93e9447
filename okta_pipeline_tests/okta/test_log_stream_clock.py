"""The simulated log stream's clock: deliveries after their window closed are counted late,
and moving to another clock streams only what is published from then on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from okta_pipeline.lib.okta_simulator.log_stream import (
    DeliveryFaults,
    ExtendableSource,
    LogStreamer,
)
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent

MINUTE_MS = 60_000
WINDOW_MS = 5 * MINUTE_MS
SETTINGS = {
    "type": "aws_eventbridge",
    "name": "clock",
    "settings": {"accountId": "123456789012", "eventSourceName": "clock", "region": "us-east-1"},
}


class Recorder:
    """A publisher that keeps what it was sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def put(self, entries: list[dict[str, Any]]) -> int:
        self.events += [json.loads(entry["Detail"]) for entry in entries]
        return 0


class Silent:
    """An org that logs nothing on its own."""

    max_persistence_delay_ms = 0

    def published_between(self, start_ms: int, end_ms: int) -> Iterator[StoredEvent]:
        return iter(())


def streamer(source: ExtendableSource, recorder: Recorder, start_ms: int) -> LogStreamer:
    stream = LogStreamer(
        source,
        "clock",
        connect=lambda _: recorder,
        faults=DeliveryFaults(
            delay_min_ms=4_000, delay_max_ms=8_000, duplicate_fraction=0, drop_fraction=0
        ),
        clock_ms=lambda: start_ms,
    )
    stream.create(SETTINGS, "")
    return stream


def test_deliveries_after_their_window_closed_are_late_by_their_due_time() -> None:
    start = 1_765_000_000_000 - 1_765_000_000_000 % WINDOW_MS
    template = next(SimulatedOrg(seed=3).published_between(start, start + WINDOW_MS)).event
    source = ExtendableSource(Silent())
    # Delays are 4 to 8 s: an event 2 s before its window closes is always delivered after,
    # one 20 s before never.
    for window in range(4):
        for before_end_ms in (2_000, 20_000):
            published = start + (window + 1) * WINDOW_MS - before_end_ms
            event = dict(template, uuid=f"clock-{window}-{before_end_ms}")
            source.append(StoredEvent(published, event["uuid"], published, event))
    recorder = Recorder()
    stream = streamer(source, recorder, start)
    for moment in range(start + MINUTE_MS, start + 5 * WINDOW_MS, 2 * MINUTE_MS):
        stream.deliver_until(moment)  # coarse steps: lateness is by when each was due
    assert len(recorder.events) == 8
    assert stream.stats.late == 4


def test_skipping_to_now_streams_only_what_is_published_from_then_on() -> None:
    start = 1_765_000_000_000 - 1_765_000_000_000 % WINDOW_MS
    org = SimulatedOrg(seed=4, events_per_minute=120, scenario_period_minutes=None)
    recorder = Recorder()
    stream = streamer(ExtendableSource(org), recorder, start)
    stream.deliver_until(start + MINUTE_MS)
    later = start + 30 * MINUTE_MS
    stream.skip_to(later)
    stream.deliver_until(later + 2 * MINUTE_MS)
    skipped = {s.uuid for s in org.published_between(start + MINUTE_MS, later)}
    delivered = {e["uuid"] for e in recorder.events}
    assert delivered and not delivered & skipped
    assert {s.uuid for s in org.published_between(later, later + MINUTE_MS)} <= delivered
