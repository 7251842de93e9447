"""Sinks: events per second shipped to each destination's stand-in, against a raw baseline.

For each sink, the same landed events go two ways, each to a stand-in of its own:
(a) the sink (`ship_windows`): it parses each landed line, skips what its ledger holds, maps
    the event to the destination's shape, batches by the destination's count and size limits,
    sends, reads each answer and records what was accepted in its ledger;
(b) a raw baseline: the same request bodies, built before the clock starts, sent in the same
    batches with the same client, with no per-event work at all.
The stand-ins do the destination's checks on every request both ways, each in a process of its
own, as a real destination is remote.

A few seconds of sending either way is at the mercy of whatever else the machine does, so the
two ways take turns over stretches of windows, the one that goes first alternating, in rounds
with fresh stand-ins; the ratio is of the rounds' mean rates, and each round's is reported.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import orjson

from bench.loading import landed_lines, sample_events
from bench.measure import stopwatch, table
from bench.standin_process import standin_process, stored
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters
from okta_pipeline.lib.sinks.cloudtrail_lake import Channel, CloudTrailLakeDestination
from okta_pipeline.lib.sinks.model import Destination, Entry
from okta_pipeline.lib.sinks.openobserve import OpenObserveDestination
from okta_pipeline.lib.sinks.sent_ledger import SentLedger
from okta_pipeline.lib.sinks.shipping import Batcher, ship_windows

CHANNEL = "arn:aws:cloudtrail:us-east-1:123456789012:channel/okta-bench"
ACCESS_KEY = "AKIABENCHSTANDIN0001"
USER, PASSWORD = "bench@okta-pipeline.local", "bench-password"
FOREVER = timedelta(days=3650)  # the sample's events are weeks old: no horizon in the way
GOAL = 0.9
ROUNDS = 5
STRETCH_EVENTS = 15_000

Windows = list[tuple[datetime, list[str]]]


def run(quick: bool, root: Path) -> dict[str, Any]:
    events = sample_events(10_000 if quick else 60_000, seed=63)
    windows = landed_lines(events)
    warm = landed_lines(events[:1_000])
    rounds = 1 if quick else ROUNDS
    results = {}
    for name, connect in (("cloudtrail_lake", _cloudtrail_lake), ("openobserve", _openobserve)):
        _round(name, connect, warm, root / f"{name}-warm", sink_first=True)
        measured = [
            _round(name, connect, windows, root / f"{name}-{n}", sink_first=n % 2 == 0)
            for n in range(rounds)
        ]
        results[name] = _summed(measured)
    return {"events": len(events), "goal_ratio": GOAL, "rounds": rounds, **results}


def _round(
    name: str,
    connect: Callable[[ExitStack], tuple[Destination, Callable[[], int]]],
    windows: Windows,
    root: Path,
    sink_first: bool,
) -> dict[str, Any]:
    with ExitStack() as stack:
        sink_side, sink_stored = connect(stack)
        raw_side, raw_stored = connect(stack)
        measured = _measure(name, sink_side, raw_side, windows, root, sink_first)
        count = len(_all(windows))
        if sink_stored() != count or raw_stored() != count:
            raise RuntimeError(
                f"{name}: the sink stored {sink_stored()} and the baseline "
                f"{raw_stored()} of {count} events"
            )
    return measured


def _summed(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds' mean rates and their ratio, with each round's ratio."""
    sink_rate = sum(r["sink_events_per_second"] for r in rounds) / len(rounds)
    raw_rate = sum(r["raw_events_per_second"] for r in rounds) / len(rounds)
    return {
        "sink_events_per_second": round(sink_rate),
        "raw_events_per_second": round(raw_rate),
        "ratio": round(sink_rate / raw_rate, 3),
        "round_ratios": [r["ratio"] for r in rounds],
        "requests": rounds[0]["requests"],
    }


def _all(windows: Windows) -> list[str]:
    return [line for _, lines in windows for line in lines]


def _measure(
    name: str,
    sink: Destination,
    raw: Destination,
    windows: Windows,
    root: Path,
    sink_first: bool,
) -> dict[str, Any]:
    """Both ways over the same windows, a stretch of windows at a time, alternating which goes
    first, so that the machine's slower and faster seconds fall on both alike."""
    shipping = baseline = 0.0
    requests = 0
    ledger = SentLedger(LandingZone(root / "landing"), name)
    dead_letters = DeadLetters(root / "dead.jsonl.gz")
    for n, stretch in enumerate(_stretches(windows)):
        if (n % 2 == 0) == sink_first:
            shipping += _ship(name, sink, stretch, ledger, dead_letters)
        seconds, sent = _send_raw(name, raw, stretch)
        baseline += seconds
        requests += sent
        if (n % 2 == 0) != sink_first:
            shipping += _ship(name, sink, stretch, ledger, dead_letters)
    count = len(_all(windows))
    sink_rate, raw_rate = count / shipping, count / baseline
    return {
        "sink_events_per_second": round(sink_rate),
        "raw_events_per_second": round(raw_rate),
        "ratio": round(sink_rate / raw_rate, 3),
        "requests": requests,
    }


def _stretches(windows: Windows, events: int = STRETCH_EVENTS) -> Iterator[Windows]:
    """Consecutive windows in stretches of at least `events` events."""
    stretch: Windows = []
    count = 0
    for window in windows:
        stretch.append(window)
        count += len(window[1])
        if count >= events:
            yield stretch
            stretch, count = [], 0
    if stretch:
        yield stretch


def _ship(
    name: str, sink: Destination, windows: Windows, ledger: SentLedger, dead_letters: DeadLetters
) -> float:
    with stopwatch() as shipping:
        report = ship_windows(
            sink, ((moment, iter(lines)) for moment, lines in windows), ledger, dead_letters
        )
    if report.failed or report.dead_lettered:
        raise RuntimeError(f"{name}: {report.summary()}")
    return shipping.seconds


def _send_raw(name: str, raw: Destination, windows: Windows) -> tuple[float, int]:
    batches = list(_batches(raw, windows))  # built before the clock starts
    with stopwatch() as baseline:
        for batch in batches:
            answer = raw.send(batch)
            if answer.refused or answer.partial:
                raise RuntimeError(f"{name}: the raw baseline was refused: {answer}")
    return baseline.seconds, len(batches)


def _batches(destination: Destination, windows: Windows) -> Iterator[list[Entry]]:
    """The sink's batches: per window, by the destination's count and byte limits."""
    for _, lines in windows:
        batcher = Batcher(destination)
        for line in lines:
            full = batcher.add(destination.entry(orjson.loads(line), line))
            if full:
                yield full
        rest = batcher.take()
        if rest:
            yield rest


def _cloudtrail_lake(stack: ExitStack) -> tuple[Destination, Callable[[], int]]:
    url = stack.enter_context(
        standin_process("cloudtrail_data", channel_arn=CHANNEL, access_key_id=ACCESS_KEY)
    )
    client = boto3.session.Session().client(
        "cloudtrail-data",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secrets.token_hex(16),  # the stand-in checks the key id
    )
    return CloudTrailLakeDestination(client, Channel.parse(CHANNEL)), lambda: stored(url)


def _openobserve(stack: ExitStack) -> tuple[Destination, Callable[[], int]]:
    url = stack.enter_context(
        standin_process(
            "openobserve",
            user=USER,
            password=PASSWORD,
            ingest_allowed_upto_hours=int(FOREVER.days * 24),
        )
    )
    client = stack.enter_context(httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=60))
    destination = OpenObserveDestination(
        client, "default", "okta", ingest_allowed_upto=FOREVER, clock=lambda: datetime.now(UTC)
    )
    return destination, lambda: stored(url)


def render(result: dict[str, Any]) -> str:
    rows = []
    for key, label in (("cloudtrail_lake", "CloudTrail Lake"), ("openobserve", "OpenObserve")):
        measured = result[key]
        rows.append(
            [
                label,
                measured["sink_events_per_second"],
                measured["raw_events_per_second"],
                f"{measured['ratio']:.0%}",
                ", ".join(f"{r:.0%}" for r in measured["round_ratios"]),
                measured["requests"],
            ]
        )
    return table(
        f"Sinks: {result['events']} landed events to each destination's stand-in, the sink "
        f"against the same request bodies sent raw, in {result['rounds']} round(s) that "
        f"alternate which goes first (goal: >= {result['goal_ratio']:.0%})",
        ["destination", "sink events/s", "raw events/s", "ratio", "each round", "requests"],
        rows,
    )
