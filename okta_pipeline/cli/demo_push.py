"""The demo's log stream: the simulated org streams to a local EventBridge bus and SQS queue
beside polling, and a few attacks played live time push from an event's `published` to its
finding being searchable and its alert delivered."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from okta_pipeline.cli.local_instance import QUIET
from okta_pipeline.cli.local_log_stream import STREAM_SETTINGS, LocalLogStream, local_log_stream
from okta_pipeline.defs.okta.log_stream import log_stream_drain_job
from okta_pipeline.lib.landing import WINDOW, LandingZone, window_start
from okta_pipeline.lib.log_stream import drain_queue, queue_depth
from okta_pipeline.lib.log_stream.drain import pushed_uuids
from okta_pipeline.lib.okta_simulator.log_stream import ExtendableSource, LogStreamer, StreamStats
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.standins.log_stream_aws import LocalLogStreamAws

# The end of the demo's range is streamed on the simulated clock and drained every two
# simulated minutes (moto's SQS receive slows with the queue's depth; polling covers the rest).
STREAMED = timedelta(minutes=15)
DRAIN_EVERY_MS = 2 * 60_000
LONGEST_DELIVERY_MS = 10_000
# Attacks played live on the wall clock, each one to three events, for the time to detect.
LIVE_SCENARIOS = ("admin_role_granted", "admin_group_add", "api_token_created")
LIVE_TIMEOUT_SECONDS = 180.0  # generous: a slow machine should still find them, not miss them

FindingLookup = Callable[[str, set[str]], bool]
"""Whether a finding of the detection holds any of these event uuids as evidence."""


@dataclass
class PushDemo:
    stream: LocalLogStream
    streamed_from: datetime | None = None
    history: StreamStats | None = None
    """The stream's counts once the history was streamed (before the live attacks)."""
    finding_seconds: list[float] = field(default_factory=list)
    alert_seconds: list[float] = field(default_factory=list)
    live_missed: list[str] = field(default_factory=list)
    live_dropped: list[str] = field(default_factory=list)
    """Attacks the stream dropped every event of: push cannot find them, polling does."""

    @property
    def streamer(self) -> LogStreamer:
        return self.stream.streamer

    @property
    def aws(self) -> LocalLogStreamAws:
        return self.stream.aws


@contextmanager
def demo_log_stream(org: SimulatedOrg, source: ExtendableSource) -> Iterator[PushDemo]:
    """A local bus, rule and queues, and the org's streamer publishing to them."""
    with local_log_stream(source, org.seed, "okta-demo-log-stream") as stream:
        yield PushDemo(stream)


def stream_history(push: PushDemo, zone: LandingZone, start: datetime, end: datetime) -> datetime:
    """Stream the last minutes of [start, end) on the simulated clock, draining as it goes;
    return where the stream began."""
    begin = max(start, end - STREAMED)
    push.streamed_from = begin
    begin_ms = int(begin.timestamp() * 1000)
    push.streamer.set_clock(lambda: begin_ms)
    push.streamer.create(STREAM_SETTINGS, "")
    sqs = push.aws.client("sqs")
    moment, stop = begin_ms, int(end.timestamp() * 1000) + LONGEST_DELIVERY_MS
    while moment < stop:
        moment = min(stop, moment + DRAIN_EVERY_MS)
        push.streamer.deliver_until(moment)
        drain_queue(sqs, push.aws.queue_url, zone, wait_seconds=0)
    push.history = replace(
        push.streamer.stats, dropped_uuids=set(push.streamer.stats.dropped_uuids)
    )
    return begin


def play_live_attacks(
    push: PushDemo,
    org: SimulatedOrg,
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    found: FindingLookup,
) -> None:
    """Publish a few attacks now, stream them on the wall clock, run the drain job whenever
    the queue holds messages (what the sensor does), and time each attack from its last
    event's `published` to its finding being searchable and its alert delivered."""
    now_ms = int(time.time() * 1000)
    push.streamer.set_clock(lambda: int(time.time() * 1000))
    push.streamer.skip_to(now_ms)  # the history is streamed: from now on, the wall clock
    by_name = {s.name: s for s in SCENARIOS}
    pending: dict[str, tuple[str, float, set[str]]] = {}
    for offset, name in enumerate(LIVE_SCENARIOS):
        scenario = by_name[name]
        rng = random.Random(f"live:{org.seed}:{name}:{now_ms}")  # noqa: S311 - not a secret
        events = scenario.build(rng, org.directory, now_ms)
        last_ms = push.streamer.source.publish(events, now_ms + 1_000 + offset * 1_500, 500)
        pending[name] = (scenario.detected_by, last_ms / 1000, {e["uuid"] for e in events})
    sqs = push.aws.client("sqs")
    deadline = time.monotonic() + LIVE_TIMEOUT_SECONDS
    while pending and time.monotonic() < deadline:
        push.streamer.deliver_until(int(time.time() * 1000))
        for name, (_, _, uuids) in list(pending.items()):
            if uuids <= push.streamer.stats.dropped_uuids:  # best effort: polling will find it
                push.live_dropped.append(name)
                del pending[name]
        if not queue_depth(sqs, push.aws.queue_url):
            time.sleep(0.5)
            continue
        result = log_stream_drain_job.execute_in_process(
            resources={**resources, "log_stream": push.stream.resource()},
            instance=instance,
            run_config=QUIET,
        )
        times = _processed_at(result)
        if times is None:
            continue
        searchable_at, delivered_at = times
        for name, (detection, last, uuids) in list(pending.items()):
            if found(detection, uuids):
                push.finding_seconds.append(searchable_at - last)
                push.alert_seconds.append(delivered_at - last)
                del pending[name]
    push.live_missed = sorted(pending)


def push_summary(push: PushDemo, zone: LandingZone, end: datetime) -> dict[str, Any]:
    """Push beside polling over the streamed windows, and the live attacks' times."""
    begin = push.streamed_from or end
    pushed: set[str] = set()
    landed: set[str] = set()
    moment = window_start(begin)
    while moment < end:
        pushed |= pushed_uuids(zone, moment)
        landed |= {e["uuid"] for e in zone.read_window(moment)}
        moment += WINDOW
    stats = push.history or push.streamer.stats
    return {
        "streamed_from": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "events": len(pushed),
        "duplicates": stats.duplicates,
        "late": stats.late,
        "not_pushed": len(landed - pushed),
        "by_both": len(pushed & landed),
        "time_to_detect_seconds": quantiles(push.finding_seconds),
        "time_to_alert_seconds": quantiles(push.alert_seconds),
        "live_attacks": len(LIVE_SCENARIOS),
        "live_attacks_missed": push.live_missed,
        "live_attacks_dropped": sorted(push.live_dropped),
    }


def quantiles(values: list[float]) -> dict[str, float | None]:
    """p50 and p95 (nearest rank), None when nothing was measured."""
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1)}


def _processed_at(result: dg.ExecuteInProcessResult) -> tuple[float, float] | None:
    """When the run's findings became searchable and its alerts were delivered."""
    for event in result.all_node_events:
        if event.step_key != "process_pushed_windows" or not event.is_successful_output:
            continue
        metadata = event.step_output_data.metadata
        searchable, delivered = (
            metadata.get(key) for key in ("findings_searchable_at", "alerts_delivered_at")
        )
        if isinstance(searchable, dg.TimestampMetadataValue) and isinstance(
            delivered, dg.TimestampMetadataValue
        ):
            return searchable.value, delivered.value
    return None
