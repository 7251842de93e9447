"""Loading: documents per second into the OpenSearch node for the same events, three ways.

(a) the project's loader (`load_windows`) on the NDJSON lines as landed: it parses each line for
    its uuid and `published`, validates, picks the daily index, sends `create` in 5 MB chunks
    and accounts per window;
(b) a raw `_bulk` baseline: the same `create` bodies (built from the landed lines, so the
    documents are the loader's byte for byte), serialized before the clock starts and posted in
    the same 5 MB chunks, with no per-event work at all;
(c) one index request per document, the approach this project replaces (a sample, since it is
    slow; documents per second is what compares).
Each way writes to indices of its own, created from the same template, then refreshed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from opensearchpy import OpenSearch

from bench.measure import stopwatch, table
from okta_pipeline.lib.landing import OKTA_EVENT, WINDOW, Event, RecordShape, window_start
from okta_pipeline.lib.landing.shapes import serialize
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.bulk_loader import (
    DEFAULT_CHUNK_BYTES,
    OKTA_LOGS,
    DeadLetters,
    IndexedSource,
    load_windows,
)
from okta_pipeline.lib.opensearch.index_setup import drop_prefix, ensure_template
from okta_pipeline.lib.opensearch.okta_index import index_name

Windows = Iterable[tuple[datetime, Iterable[str]]]

START = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)


def sample_events(count: int, seed: int = 62) -> list[Event]:
    org = SimulatedOrg(seed=seed, events_per_minute=2_000, scenario_period_minutes=None)
    start_ms = int(START.timestamp() * 1000)
    events = []
    for stored in org.published_between(start_ms, start_ms + 10**10):
        events.append(stored.event)
        if len(events) == count:
            return events
    raise RuntimeError("not enough simulated events")


def landed_lines(
    records: Iterable[Event], shape: RecordShape = OKTA_EVENT
) -> list[tuple[datetime, list[str]]]:
    """The records as the landing zone stores them: compact JSON lines per window (by the
    shape's time: `published` for Okta, `eventTime` for CloudTrail)."""
    windows: dict[datetime, list[str]] = {}
    for record in records:
        moment = shape.record_time(record)
        if moment is None:
            raise ValueError(f"a simulated {shape.noun} without a {shape.time_field}")
        windows.setdefault(window_start(moment), []).append(serialize(record))
    return sorted(windows.items())


def raw_bulk_bodies(
    windows: Windows, prefix: str, source: IndexedSource = OKTA_LOGS
) -> Iterator[bytes]:
    """`create` bodies of about DEFAULT_CHUNK_BYTES for the landed lines: the same documents
    the loader sends (the landed line plus its derived fields), built ahead of time."""
    shape = source.shape
    lines: list[bytes] = []
    size = 0
    for _, window_lines in windows:
        for text in window_lines:
            record = orjson.loads(text)
            moment = shape.record_time(record)
            assert moment is not None
            action = json.dumps(
                {
                    "create": {
                        "_index": source.index_name(prefix, moment),
                        "_id": record[shape.id_field],
                    }
                }
            )
            line = (action + "\n" + source.document(record, text) + "\n").encode()
            if size + len(line) > DEFAULT_CHUNK_BYTES and lines:
                yield b"".join(lines)
                lines, size = [], 0
            lines.append(line)
            size += len(line)
    if lines:
        yield b"".join(lines)


def post_bulk(client: OpenSearch, body: bytes) -> None:
    """Post one pre-built `_bulk` body as it is; any item error fails the benchmark."""
    response = client.transport.perform_request(
        "POST", "/_bulk", body=body, headers={"content-type": "application/x-ndjson"}
    )
    if response.get("errors"):
        raise RuntimeError("the raw _bulk baseline had item errors")


@dataclass(frozen=True)
class Target:
    """A source's indices as the benchmark writes them: how its records are indexed, how a
    prefix's template is put, and how a prefix's indices and template are dropped."""

    source: IndexedSource
    setup: Callable[[OpenSearch, str], object]
    drop: Callable[[OpenSearch, str], None]


OKTA = Target(OKTA_LOGS, ensure_template, drop_prefix)


def warm_up(
    client: OpenSearch, windows: Windows, tmp_root: Path, target: Target = OKTA, name: str = "warm"
) -> None:
    """Index a few thousand records both ways, untimed, so a freshly started JVM does not tax
    whichever way is measured first."""
    prefix = f"bench-{name}-{datetime.now(UTC):%H%M%S}"
    raw = f"{prefix}-raw"
    target.setup(client, prefix)
    target.setup(client, raw)
    windows = [(window, list(lines)) for window, lines in windows]
    try:
        load_windows(
            client,
            windows,
            prefix,
            DeadLetters(tmp_root / f"{name}.jsonl.gz"),
            source=target.source,
        )
        for body in raw_bulk_bodies(windows, raw, target.source):
            post_bulk(client, body)
    finally:
        target.drop(client, raw)
        target.drop(client, prefix)


def run(client: OpenSearch, quick: bool, tmp_root: Any) -> dict[str, Any]:
    count = 40_000 if quick else 200_000
    per_document_sample = 1_000 if quick else 3_000
    events = sample_events(count)
    prefixes = {
        way: f"bench-{way}-{datetime.now(UTC):%H%M%S}" for way in ("loader", "raw", "single")
    }
    for prefix in prefixes.values():
        ensure_template(client, prefix)
    try:
        windows = landed_lines(events)
        warm_up(client, landed_lines(events[:5_000]), tmp_root)
        with stopwatch() as loader:
            report = load_windows(
                client, windows, prefixes["loader"], DeadLetters(tmp_root / "dead.jsonl.gz")
            )
            client.indices.refresh(index=f"{prefixes['loader']}-*")
        if report.failed or report.dead_lettered:
            raise RuntimeError(report.summary())

        bodies = list(raw_bulk_bodies(windows, prefixes["raw"]))
        with stopwatch() as raw:
            for body in bodies:
                post_bulk(client, body)
            client.indices.refresh(index=f"{prefixes['raw']}-*")

        sample = events[:per_document_sample]
        with stopwatch() as single:
            for event in sample:
                published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
                client.index(
                    index=index_name(prefixes["single"], published), id=event["uuid"], body=event
                )
            client.indices.refresh(index=f"{prefixes['single']}-*")
        counts = {
            way: client.count(index=f"{prefix}-*")["count"] for way, prefix in prefixes.items()
        }
    finally:
        for prefix in prefixes.values():
            drop_prefix(client, prefix)
    if counts != {"loader": count, "raw": count, "single": per_document_sample}:
        raise RuntimeError(f"document counts differ from what was sent: {counts}")
    rates = {
        "loader": count / loader.seconds,
        "raw_bulk": count / raw.seconds,
        "one_per_document": per_document_sample / single.seconds,
    }
    megabytes = sum(len(body) for body in bodies) / 1e6
    return {
        "documents": count,
        "megabytes": round(megabytes, 1),
        "per_document_sample": per_document_sample,
        "seconds": {
            "loader": round(loader.seconds, 2),
            "raw_bulk": round(raw.seconds, 2),
            "one_per_document": round(single.seconds, 2),
        },
        "documents_per_second": {way: round(rate, 1) for way, rate in rates.items()},
        "loader_vs_raw_bulk": round(rates["loader"] / rates["raw_bulk"], 3),
        "loader_vs_one_per_document": round(rates["loader"] / rates["one_per_document"], 1),
        "windows": len(windows),
        "window_span_minutes": round(len(windows) * WINDOW / timedelta(minutes=1)),
    }


def render(result: dict[str, Any], title: str = "Loading") -> str:
    rates, seconds = result["documents_per_second"], result["seconds"]
    body = table(
        f"{title} ({result['documents']:,} documents, {result['megabytes']} MB of bulk bodies)",
        ["way", "documents", "seconds", "documents/s"],
        [
            ["(a) project loader", result["documents"], seconds["loader"], rates["loader"]],
            ["(b) raw _bulk", result["documents"], seconds["raw_bulk"], rates["raw_bulk"]],
            [
                "(c) one per document",
                result["per_document_sample"],
                seconds["one_per_document"],
                rates["one_per_document"],
            ],
        ],
    )
    return (
        f"{body}\n  a/b = {result['loader_vs_raw_bulk']:.1%}   "
        f"a/c = {result['loader_vs_one_per_document']}x"
    )
