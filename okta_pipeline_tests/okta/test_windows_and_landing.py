"""Invariant 1 (each event in exactly one half-open window) and the landing zone's union writes."""

from __future__ import annotations

import gzip
import multiprocessing
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okta_pipeline.defs.partitions import PARTITION_FORMAT, five_minute_partitions
from okta_pipeline.lib.landing import (
    WINDOW,
    LandingZone,
    event_key,
    split_into_windows,
    window_start,
)
from okta_pipeline.lib.okta_simulator.events import format_published

RANGE_START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RANGE_END = RANGE_START + timedelta(minutes=30)
FETCHED_AT = RANGE_END + timedelta(minutes=2)

PARTITIONS_FROM = five_minute_partitions.start.replace(tzinfo=None)
moments = st.datetimes(
    min_value=PARTITIONS_FROM,
    max_value=PARTITIONS_FROM + timedelta(days=365),
    timezones=st.just(UTC),
)


@given(moments)
def test_every_moment_has_one_window_matching_dagsters_partition(moment: datetime) -> None:
    start = window_start(moment)
    assert start <= moment < start + WINDOW
    assert start.minute % 5 == 0 and start.second == 0 and start.microsecond == 0
    key = five_minute_partitions.get_partition_key_for_timestamp(moment.timestamp())
    assert key == start.strftime(PARTITION_FORMAT)


@given(st.integers(min_value=0, max_value=10_000))
def test_window_edges_are_half_open(index: int) -> None:
    start = datetime(2026, 8, 1, tzinfo=UTC) + index * WINDOW
    assert window_start(start) == start  # exactly the start belongs to the window
    assert window_start(start + WINDOW) == start + WINDOW  # exactly the end is the next one
    assert window_start(start + WINDOW - timedelta(milliseconds=1)) == start


def make_event(offset_ms: int, serial: int) -> dict[str, object]:
    published = int(RANGE_START.timestamp() * 1000) + offset_ms
    return {
        "uuid": f"00000000-0000-1000-8000-{serial:012d}",
        "published": format_published(published),
        "eventType": "user.session.start",
        "displayMessage": "Zoë signed in 🙂",
        "debugContext": {"debugData": {"behaviors": "{New IP=POSITIVE}"}},
    }


range_ms = int((RANGE_END - RANGE_START).total_seconds() * 1000)
# Offsets that favour the window edges, where off-by-one errors live.
edge_offsets = st.sampled_from([0, 1, 299_999, 300_000, 300_001, 599_999, 600_000, range_ms - 1])
offsets = st.lists(st.one_of(edge_offsets, st.integers(0, range_ms - 1)), max_size=60)


def landed_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.jsonl.gz"))
    }


@settings(max_examples=40, deadline=None)
@given(offsets, st.randoms(use_true_random=False))
def test_range_and_single_window_runs_land_identical_files(
    tmp_path_factory: pytest.TempPathFactory, offset_list: list[int], shuffler: random.Random
) -> None:
    base = tmp_path_factory.mktemp("landing")
    events = [make_event(offset, serial) for serial, offset in enumerate(offset_list)]

    range_zone = LandingZone(base / "range")
    writes, unplaceable = split_into_windows(range_zone, events, RANGE_START, RANGE_END, FETCHED_AT)
    assert not unplaceable
    assert len(writes) == 6, "every window of the range gets a file, even an empty one"

    window_zone = LandingZone(base / "windows")
    shuffled = list(events)
    shuffler.shuffle(shuffled)  # arrival order must not matter
    moment = RANGE_START
    while moment < RANGE_END:
        mine = [e for e in shuffled if window_start(_published(e)) == moment]
        split_into_windows(window_zone, mine, moment, moment + WINDOW, FETCHED_AT)
        moment += WINDOW

    assert landed_files(base / "range") == landed_files(base / "windows")
    landed = list(range_zone.iter_window_events(RANGE_START, RANGE_END))
    assert sorted(event_key(e) for e in landed) == sorted(event_key(e) for e in events)
    for write in writes:
        for event in range_zone.read_window(write.start):
            assert window_start(_published(event)) == write.start


def _published(event: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(event["published"]).replace("Z", "+00:00"))


def test_rewriting_a_window_keeps_the_union_and_reports_what_is_new(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    first = [make_event(1_000, 1), make_event(2_000, 2)]
    late = make_event(1_500, 3)
    zone.write_window(RANGE_START, first, FETCHED_AT)
    # A re-fetch that misses an event (say, Okta dropped it from a page) loses nothing.
    write = zone.write_window(RANGE_START, [first[1], late], FETCHED_AT + timedelta(minutes=30))
    assert write.total == 3 and write.added == 1
    assert write.lag_max_seconds is not None and write.lag_max_seconds > 30 * 60
    assert [e["uuid"] for e in zone.read_window(RANGE_START)] == [
        first[0]["uuid"],
        late["uuid"],
        first[1]["uuid"],
    ]


# As an Okta page might arrive: spaces, escaped non-ASCII, unusual key order, numbers written
# with a trailing zero and an exponent, a null zone and a field the pipeline does not know.
RAW_PAGE = (
    b'[ {"uuid" : "e-1", "published": "2026-11-17T10:00:00.009Z",\n'
    b'   "displayMessage": "Caf\\u00e9 sign-in \\ud83d\\ude80", "eventType": "user.session.start",'
    b' "client": {"zone": null, "ipAddress": "null", "geographicalContext":'
    b' {"geolocation": {"lat": 37.70, "lon": -1.5e2}}},\n'
    b'   "unknownNewField": {"nested": [1, 2.5, true, null]}, "version": "0"} ]'
)
# What is landed for it: the same JSON with compact separators, non-ASCII as UTF-8 and numbers
# in their shortest round-trip form; every key, value and key order is kept.
LANDED_LINE = (
    '{"uuid":"e-1","published":"2026-11-17T10:00:00.009Z",'
    '"displayMessage":"Café sign-in \U0001f680","eventType":"user.session.start",'
    '"client":{"zone":null,"ipAddress":"null","geographicalContext":'
    '{"geolocation":{"lat":37.7,"lon":-150.0}}},'
    '"unknownNewField":{"nested":[1,2.5,true,null]},"version":"0"}\n'
).encode()


def test_events_are_landed_as_received_with_only_the_json_form_normalized(
    tmp_path: Path,
) -> None:
    zone = LandingZone(tmp_path)
    page = httpx.Response(200, content=RAW_PAGE).json()  # as the client reads a page
    zone.write_window(RANGE_START, page, FETCHED_AT)
    with gzip.open(zone.window_location(RANGE_START), "rb") as stored:
        assert stored.read() == LANDED_LINE


def test_events_outside_the_range_or_without_published_are_kept_aside(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    good = make_event(10, 1)
    broken = {"uuid": "x", "published": "not a date"}
    outside = make_event(range_ms + 5, 2)
    writes, unplaceable = split_into_windows(
        zone, [good, broken, outside], RANGE_START, RANGE_END, FETCHED_AT
    )
    assert unplaceable == [broken, outside]
    assert sum(w.total for w in writes) == 1
    path = zone.write_unplaceable(RANGE_START, RANGE_END, unplaceable)
    with gzip.open(path, "rt", encoding="utf-8") as kept:
        assert len(kept.readlines()) == 2


def _write_batches(root: str, writer: int, batches: int, per_batch: int) -> None:
    zone = LandingZone(Path(root))
    for batch in range(batches):
        first = (writer * batches + batch) * per_batch
        zone.write_window(
            RANGE_START, [make_event(n, n) for n in range(first, first + per_batch)], FETCHED_AT
        )


def test_processes_writing_one_window_in_a_directory_lose_no_events(tmp_path: Path) -> None:
    """A backfill and a re-fetch in two processes landing the same window at once: the file
    lock makes each merge with the other's result instead of overwriting it."""
    writers, batches, per_batch = 4, 6, 5
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_write_batches, args=(str(tmp_path), w, batches, per_batch))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    landed = [e["uuid"] for e in LandingZone(tmp_path).read_window(RANGE_START)]
    assert len(landed) == len(set(landed)) == writers * batches * per_batch
