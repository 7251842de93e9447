"""CloudTrail: a simulated day of over a million records into the OpenSearch node, three ways,
with the ratios of the Okta loader's benchmark (`loading.py`); and the landing of that day from a
trail bucket.

Loading:
(a) the project's loader, `load_windows(..., source=CLOUDTRAIL_LOGS)`, on the day as landed
    (compact JSON lines per 5-minute window by `eventTime`): it parses each line, validates
    `eventID` and `eventTime`, derives the `okta_pipeline` fields (the values the identity link
    and the detections need, and the source address), picks the daily index and sends `create`
    in 5 MB chunks;
(b) raw `_bulk` of the same documents (derived fields included), built before the clock starts
    and posted in 5 MB chunks;
(c) one index request per document, on a sample (documents built before the clock starts).
Each way writes to a prefix of its own under the CloudTrail template, dropped afterwards.

The day is never held in memory. A first process generates it an hour at a time and spools its
landed lines to an uncompressed file per window (generation and serialization are timed there,
apart from the load); the load, in a process of its own, streams them as the loader streams a
landed window in production (without the gunzip), and spools (b)'s bodies to one file, each
read just before it is posted. Reading the spooled lines alone is timed: it is what the spooling
adds to (a). Each process reports its own peak memory.

Landing: the same day is delivered to a local S3 (moto's server, in the benchmark's process) in
CloudTrail's layout, as untimed setup, then landed by `land_range` into a local landing zone in
a process of its own, against reading the same objects with `get_object`, gzip and orjson on as
many threads as the landing reads with.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from opensearchpy import OpenSearch

from bench.loading import Target, landed_lines, post_bulk, raw_bulk_bodies, warm_up
from bench.loading import render as render_loading
from bench.measure import Stopwatch, peak_rss_mb, run_child, stopwatch, table, timed
from okta_pipeline.lib.aws_simulator.delivery import DELIVERY_INTERVAL_MS, MAX_DELIVERY_DELAY_MS
from okta_pipeline.lib.aws_simulator.delivery import deliver as deliver_objects
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.cloudtrail.index import (
    CLOUDTRAIL_LOGS,
    daily_indices,
    index_name,
    index_template,
)
from okta_pipeline.lib.cloudtrail.landing import land_range
from okta_pipeline.lib.cloudtrail.trail import TrailBucket, TrailLocation, TrailObject
from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD, LandingZone
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect
from okta_pipeline.lib.opensearch.index_setup import (
    drop_managed_prefix,
    ensure_index_template,
    managed_template_name,
)
from okta_pipeline.lib.standins.s3 import LocalS3, running_s3

DAY = datetime(2026, 11, 17, tzinfo=UTC)  # a Tuesday
QUICK_HOUR = DAY + timedelta(hours=9)  # about 41,000 records at the full day's rate
SEED = 71
RECORDS_PER_MINUTE = 700
"""Ordinary service activity (scaled by the daily rhythm); the federated sessions of the
simulated Okta org's sign-ins come on top: the day holds about 1.07 million records."""
WARM_UP_RECORDS = 5_000
READ_WORKERS = 8  # what `TrailBucket.read_ahead` fetches with
HOUR = timedelta(hours=1)
HOUR_MS = 3_600_000


def _put_template(client: OpenSearch, prefix: str) -> bool:
    return ensure_index_template(client, managed_template_name(prefix), index_template(prefix))


CLOUDTRAIL = Target(CLOUDTRAIL_LOGS, _put_template, drop_managed_prefix)


def simulated_trail() -> SimulatedTrail:
    org = SimulatedOrg(seed=SEED, scenario_period_minutes=None)
    return SimulatedTrail(org, records_per_minute=RECORDS_PER_MINUTE, attacks=False)


def span(quick: bool) -> tuple[datetime, datetime]:
    return (QUICK_HOUR, QUICK_HOUR + HOUR) if quick else (DAY, DAY + timedelta(days=1))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the benchmark's process ------------------------------------------------------------------


def run(client: OpenSearch, opensearch_url: str, quick: bool, tmp_root: Path) -> dict[str, Any]:
    start, end = span(quick)
    stem = f"bench-ct-{datetime.now(UTC):%H%M%S}"
    scratch = tmp_root / "cloudtrail"
    arguments = ["--start", start.isoformat(), "--end", end.isoformat(), "--scratch", str(scratch)]
    generated, generation_peak = run_child("bench.cloudtrail", ["generate", *arguments])
    generated["peak_rss_mb"] = generation_peak
    expected = ["--expected", str(generated["records"])]
    try:
        load, load_peak = run_child(
            "bench.cloudtrail",
            [
                "load",
                *arguments,
                *expected,
                "--opensearch",
                opensearch_url,
                "--prefix",
                stem,
                "--sample",
                str(1_000 if quick else 3_000),
            ],
        )
    finally:  # the child drops its prefixes; this covers a child that died first
        for way in ("loader", "raw", "single"):
            drop_managed_prefix(client, f"{stem}-{way}")
    load["peak_rss_mb"] = load_peak
    return {
        "range": {"start": start.isoformat(), "end": end.isoformat()},
        "records_per_minute": RECORDS_PER_MINUTE,
        "generation": generated,
        "load": load,
        "landing": _landing(start, end, [*arguments, *expected]),
    }


def _landing(start: datetime, end: datetime, arguments: list[str]) -> dict[str, Any]:
    """Deliver the range to a local trail bucket, then land it in a process of its own."""
    trail = simulated_trail()
    with running_s3("bench-ct-trail", versioned=False) as s3:
        s3_client = s3.client()
        objects = records = 0
        with stopwatch() as delivery:
            # Every object holding the range's records: they are delivered 5 to 15 minutes
            # after their eventTime. An hour at a time, so the day is never held at once.
            last = _ms(end) + MAX_DELIVERY_DELAY_MS + DELIVERY_INTERVAL_MS
            for hour in range(_ms(start), last, HOUR_MS):
                done = deliver_objects(
                    s3_client, s3.bucket, "", trail, hour, min(hour + HOUR_MS, last)
                )
                objects, records = objects + done.objects, records + done.records
        result, peak = run_child(
            "bench.cloudtrail",
            [
                "land",
                *arguments,
                "--endpoint",
                s3.endpoint_url,
                "--bucket",
                s3.bucket,
            ],
        )
    result["delivery"] = {
        "seconds": round(delivery.seconds, 2),
        "objects": objects,
        "records": records,
    }
    result["peak_rss_mb"] = peak
    return result


def render(result: dict[str, Any]) -> str:
    generated, load, landing = result["generation"], result["load"], result["landing"]
    loading = render_loading(load, title="CloudTrail loading")
    notes = (
        f"  {load['windows']} windows; generating the records took "
        f"{generated['generate_seconds']} s and serializing them "
        f"{generated['serialize_seconds']} s (not in the load; peak memory "
        f"{generated['peak_rss_mb']} MB); reading the spooled lines alone "
        f"{load['read_spooled_seconds']} s; peak memory of the load {load['peak_rss_mb']} MB"
    )
    reading = table(
        f"CloudTrail landing ({landing['objects']:,} trail objects, "
        f"{landing['object_megabytes']} MB gzipped, {landing['records_read']:,} records read, "
        f"{landing['records']:,} landed)",
        ["way", "records read", "seconds", "records/s"],
        [
            [
                "land_range (read, split, merge, write)",
                landing["records_read"],
                landing["seconds"]["land_range"],
                landing["records_per_second"]["land_range"],
            ],
            [
                f"get_object + gzip + orjson, {READ_WORKERS} threads",
                landing["records_read"],
                landing["seconds"]["plain_read"],
                landing["records_per_second"]["plain_read"],
            ],
        ],
    )
    delivery = landing["delivery"]
    return (
        f"{loading}\n{notes}\n\n{reading}\n  land_range / plain read = "
        f"{landing['land_range_vs_plain_read']:.1%}   {landing['windows']} windows written; "
        f"peak memory {landing['peak_rss_mb']} MB; delivering the range to the local S3 took "
        f"{delivery['seconds']} s (untimed setup)"
    )


# --- the child processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Spool:
    """Landed lines of a range, one uncompressed file per window."""

    root: Path

    @property
    def windows(self) -> list[datetime]:
        return [
            datetime.strptime(path.stem, "%Y%m%dT%H%M").replace(tzinfo=UTC)
            for path in sorted(self.root.glob("*.jsonl"))
        ]

    def path(self, window: datetime) -> Path:
        return self.root / f"{window:%Y%m%dT%H%M}.jsonl"

    def lines(self, window: datetime) -> Iterator[str]:
        with self.path(window).open(encoding="utf-8") as lines:
            for line in lines:
                yield line.rstrip("\n")

    def read(self) -> Iterator[tuple[datetime, Iterator[str]]]:
        for window in self.windows:
            yield window, self.lines(window)


def spool_range(
    trail: SimulatedTrail, start: datetime, end: datetime, spool: Spool, generation: Stopwatch
) -> int:
    """Generate [start, end) an hour at a time and spool it as landed; no eventID twice.
    Returns how many records there are."""
    spool.root.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()

    def records(since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        for stored in timed(trail.records_between(_ms(since), _ms(until)), generation):
            if stored.event_id in seen:
                raise RuntimeError(f"two simulated records share the eventID {stored.event_id}")
            seen.add(stored.event_id)
            yield stored.record

    since = start
    while since < end:
        until = min(since + HOUR, end)
        for window, lines in landed_lines(records(since, until), CLOUDTRAIL_RECORD):
            with spool.path(window).open("w", encoding="utf-8") as out:
                out.writelines(line + "\n" for line in lines)
        since = until
    return len(seen)


def generate(args: argparse.Namespace) -> dict[str, Any]:
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    spool = Spool(Path(args.scratch) / "lines")
    generation = Stopwatch()
    with stopwatch() as landed:
        records = spool_range(simulated_trail(), start, end, spool, generation)
    return {
        "records": records,
        "windows": len(spool.windows),
        "megabytes": round(sum(p.stat().st_size for p in spool.root.glob("*.jsonl")) / 1e6, 1),
        "generate_seconds": round(generation.seconds, 2),
        "serialize_seconds": round(landed.seconds - generation.seconds, 2),
    }


def _opensearch(url: str) -> OpenSearch:
    """A client like the benchmark's own; credentials come from the environment, as there."""
    settings = external_endpoint(os.environ)
    if settings is None or settings.url != url:
        settings = OpenSearchSettings(url)
    return connect(replace(settings, timeout_seconds=300))


def measure_load(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(args.scratch)
    client = _opensearch(args.opensearch)
    spool, count = Spool(scratch / "lines"), args.expected
    with stopwatch() as reading:
        read = sum(1 for _, lines in spool.read() for _ in lines)
    if read != count:
        raise RuntimeError(f"the spooled lines hold {read} records, {count} were generated")

    prefixes = {way: f"{args.prefix}-{way}" for way in ("loader", "raw", "single")}
    try:
        for prefix in prefixes.values():
            CLOUDTRAIL.setup(client, prefix)
        first = itertools.islice(
            ((w, line) for w, lines in spool.read() for line in lines), WARM_UP_RECORDS
        )
        warm = [
            (w, [line for _, line in group])
            for w, group in itertools.groupby(first, key=lambda x: x[0])
        ]
        warm_up(client, warm, scratch, CLOUDTRAIL, name="ct-warm")

        with stopwatch() as loader:
            report = load_windows(
                client,
                spool.read(),
                prefixes["loader"],
                DeadLetters(scratch / "dead.jsonl.gz"),
                source=CLOUDTRAIL_LOGS,
            )
            client.indices.refresh(index=daily_indices(prefixes["loader"]))
        indexed = sum(w.indexed for w in report.windows.values())
        if report.failed or report.dead_lettered or indexed != count:
            raise RuntimeError(f"the loader indexed {indexed} of {count}: {report.summary()}")

        bodies = scratch / "bodies.ndjson"
        sizes = []
        with bodies.open("wb") as out:
            for body in raw_bulk_bodies(spool.read(), prefixes["raw"], CLOUDTRAIL_LOGS):
                out.write(body)
                sizes.append(len(body))
        with bodies.open("rb") as stored, stopwatch() as raw:
            for size in sizes:
                post_bulk(client, stored.read(size))
            client.indices.refresh(index=daily_indices(prefixes["raw"]))
        bodies.unlink()

        sample = []
        for line in itertools.islice(
            (line for _, lines in spool.read() for line in lines), args.sample
        ):
            record = orjson.loads(line)
            moment = CLOUDTRAIL_RECORD.record_time(record)
            assert moment is not None
            sample.append(
                (
                    index_name(prefixes["single"], moment),
                    record["eventID"],
                    CLOUDTRAIL_LOGS.document(record, line),
                )
            )
        with stopwatch() as single:
            for index, record_id, document in sample:
                client.index(index=index, id=record_id, body=document)
            client.indices.refresh(index=daily_indices(prefixes["single"]))
        counts = {
            way: client.count(index=daily_indices(prefix))["count"]
            for way, prefix in prefixes.items()
        }
    finally:
        for prefix in prefixes.values():
            CLOUDTRAIL.drop(client, prefix)
    if counts != {"loader": count, "raw": count, "single": len(sample)}:
        raise RuntimeError(f"document counts differ from what was sent: {counts}")
    rates = {
        "loader": count / loader.seconds,
        "raw_bulk": count / raw.seconds,
        "one_per_document": len(sample) / single.seconds,
    }
    return {
        "documents": count,
        "megabytes": round(sum(sizes) / 1e6, 1),
        "per_document_sample": len(sample),
        "seconds": {
            "loader": round(loader.seconds, 2),
            "raw_bulk": round(raw.seconds, 2),
            "one_per_document": round(single.seconds, 2),
        },
        "documents_per_second": {way: round(rate, 1) for way, rate in rates.items()},
        "loader_vs_raw_bulk": round(rates["loader"] / rates["raw_bulk"], 3),
        "loader_vs_one_per_document": round(rates["loader"] / rates["one_per_document"], 1),
        "windows": len(spool.windows),
        "read_spooled_seconds": round(reading.seconds, 2),
    }


def measure_landing(args: argparse.Namespace) -> dict[str, Any]:
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    s3_client = LocalS3(args.endpoint, args.bucket).client()
    location = TrailLocation(args.bucket)
    objects = TrailBucket(s3_client, location).objects_for(start, end)

    def plain_read(item: TrailObject) -> tuple[int, int]:
        body = s3_client.get_object(Bucket=args.bucket, Key=item.key)["Body"]
        with body:
            data = body.read()
        return len(orjson.loads(gzip.decompress(data))["Records"]), len(data)

    with stopwatch() as plain, ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        read = list(pool.map(plain_read, objects))
    records_read = sum(records for records, _ in read)

    zone = LandingZone(Path(args.scratch) / "landing", "cloudtrail_events", CLOUDTRAIL_RECORD)
    with stopwatch() as landing:
        landed = land_range(zone, TrailBucket(s3_client, location), start, end, datetime.now(UTC))
    total = sum(write.total for write in landed.writes)
    if landed.malformed or landed.unplaceable or landed.objects_read != len(objects):
        raise RuntimeError(
            f"landing read {landed.objects_read} of {len(objects)} objects, "
            f"{len(landed.malformed)} malformed, {len(landed.unplaceable)} unplaceable"
        )
    if not landed.records_in_range == total == args.expected:
        raise RuntimeError(
            f"landed {total} records ({landed.records_in_range} in range), "
            f"{args.expected} were generated"
        )
    # Both read the same objects (with records of the neighbouring windows too): rates per
    # record read, so that the ratio is the ratio of the times.
    rates = {
        "land_range": records_read / landing.seconds,
        "plain_read": records_read / plain.seconds,
    }
    return {
        "objects": len(objects),
        "object_megabytes": round(sum(size for _, size in read) / 1e6, 1),
        "records": total,
        "records_read": records_read,
        "windows": len(landed.writes),
        "list_requests": landed.list_requests,
        "seconds": {"land_range": round(landing.seconds, 2), "plain_read": round(plain.seconds, 2)},
        "records_per_second": {way: round(rate, 1) for way, rate in rates.items()},
        "land_range_vs_plain_read": round(rates["land_range"] / rates["plain_read"], 3),
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["generate", "load", "land"])
    for option in ("--start", "--end", "--scratch"):
        parser.add_argument(option, required=True)
    parser.add_argument("--opensearch")
    parser.add_argument("--prefix")
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--endpoint")
    parser.add_argument("--bucket")
    parser.add_argument("--expected", type=int)
    args = parser.parse_args()
    modes = {"generate": generate, "load": measure_load, "land": measure_landing}
    result = modes[args.mode](args)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
