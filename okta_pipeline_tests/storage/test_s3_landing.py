"""The landing zone on S3, against a local S3 over a real socket: the same bytes as on disk,
unions that lose no concurrent writer's events, and the pipeline end to end from the
simulator through S3 into the real OpenSearch node."""

from __future__ import annotations

import gzip
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import LandingZone, split_into_windows
from okta_pipeline.lib.landing.storage import LandingConflictError, S3Storage, storage_at
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline_tests.okta.helpers import TOKEN, range_tags, recent_window, running_simulator
from okta_pipeline_tests.run_results import check_results
from okta_pipeline_tests.storage.local_s3 import CREDENTIALS, LocalS3, running_s3

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FETCHED_AT = START + timedelta(hours=1)
ORG = SimulatedOrg(seed=47, events_per_minute=40)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with running_s3() as local:
        yield local


def event(number: int, minute: int = 1) -> dict[str, Any]:
    published = START + timedelta(minutes=minute, milliseconds=number)
    return {
        "uuid": f"00000000-0000-4000-8000-{number:012d}",
        "published": published.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventType": "user.session.start",
        "actor": {"id": f"00u{number}", "type": "User"},
    }


def s3_zone(s3: LocalS3, prefix: str = "landing", **storage: Any) -> LandingZone:
    return LandingZone(S3Storage(s3.bucket, prefix, client=s3.client(), **storage))


def versions(s3: LocalS3, key: str) -> int:
    listed = s3.client().list_object_versions(Bucket=s3.bucket, Prefix=key)
    return len(listed.get("Versions", []))


def test_s3_holds_the_same_bytes_as_a_directory(s3: LocalS3, tmp_path: Path) -> None:
    events = [event(n, minute=n % 5) for n in range(50)]
    on_disk, on_s3 = LandingZone(tmp_path), s3_zone(s3)
    disk_write = on_disk.write_window(START, reversed(events), FETCHED_AT)
    s3_write = on_s3.write_window(START, events, FETCHED_AT)
    assert disk_write == s3_write and s3_write.total == s3_write.added == 50

    stored = s3.client().get_object(Bucket=s3.bucket, Key=f"landing/{on_s3.window_key(START)}")
    assert stored["Body"].read() == Path(on_disk.window_location(START)).read_bytes()
    assert on_s3.read_window(START) == on_disk.read_window(START)
    assert on_s3.has_window(START) and not on_s3.has_window(START + timedelta(minutes=5))
    assert on_s3.window_location(START) == f"s3://{s3.bucket}/landing/{on_s3.window_key(START)}"


def test_a_refetch_adds_late_events_and_rewrites_nothing_when_nothing_is_new(
    s3: LocalS3,
) -> None:
    zone = s3_zone(s3)
    key = f"landing/{zone.window_key(START)}"
    zone.write_window(START, [event(1), event(2)], FETCHED_AT)
    again = zone.write_window(START, [event(2), event(1)], FETCHED_AT)
    assert (again.total, again.added) == (2, 0)
    assert versions(s3, key) == 1  # an unchanged window is not written again

    late = zone.write_window(START, [event(1), event(3)], FETCHED_AT)
    assert (late.total, late.added) == (3, 1)
    assert versions(s3, key) == 2
    assert [e["uuid"] for e in zone.read_window(START)] == [event(n)["uuid"] for n in (1, 2, 3)]


def test_concurrent_writers_of_one_window_lose_no_events(s3: LocalS3) -> None:
    """A backfill and a lookback re-fetch writing the same window at once: conditional writes
    make each retry on the other's result instead of overwriting it."""
    writers, batches, per_batch = 4, 5, 3
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        zone = s3_zone(s3, max_attempts=50)
        try:
            for batch in range(batches):
                first = (writer * batches + batch) * per_batch
                zone.write_window(
                    START, [event(n) for n in range(first, first + per_batch)], FETCHED_AT
                )
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    landed = {e["uuid"] for e in s3_zone(s3).read_window(START)}
    assert len(landed) == writers * batches * per_batch


def test_a_writer_that_keeps_losing_the_race_stops_without_overwriting(s3: LocalS3) -> None:
    client = s3.client()
    storage = S3Storage(s3.bucket, "landing", client=client, max_attempts=3)
    rival = [0]

    def change_while_someone_else_writes(current: bytes | None) -> bytes:
        rival[0] += 1
        client.put_object(Bucket=s3.bucket, Key="landing/window", Body=f"rival {rival[0]}")
        return b"mine"

    with pytest.raises(LandingConflictError, match="another run is writing the same window"):
        storage.update("window", change_while_someone_else_writes)
    body = client.get_object(Bucket=s3.bucket, Key="landing/window")["Body"].read()
    assert body == b"rival 3"


def test_a_failed_load_still_stores_what_it_spooled(s3: LocalS3) -> None:
    zone = s3_zone(s3)
    with pytest.raises(RuntimeError, match="interrupted"), zone.spooled("_dead_letter/x.gz") as f:
        f.write_bytes(gzip.compress(b'{"reason": "mapping"}\n'))
        raise RuntimeError("interrupted")
    stored = s3.client().get_object(Bucket=s3.bucket, Key="landing/_dead_letter/x.gz")
    assert gzip.decompress(stored["Body"].read()) == b'{"reason": "mapping"}\n'


def test_an_s3_root_without_a_bucket_says_how_to_write_it() -> None:
    with pytest.raises(ValueError, match=r"s3://<bucket>/<prefix>"):
        storage_at("s3:///landing")


def test_the_pipeline_lands_on_s3_and_loads_opensearch_from_it(
    s3: LocalS3, opensearch: OpenSearch, opensearch_endpoint: OpenSearchSettings
) -> None:
    """okta_system_log from the simulator into S3, then opensearch_okta_logs from S3 into the
    real node: what runs on ECS, where each run is a separate task and only S3 is shared."""
    start, end = recent_window(span=timedelta(minutes=30))
    prefix = f"test-s3-{uuid.uuid4().hex[:8]}"
    landing = LandingZoneResource(
        root=f"s3://{s3.bucket}/okta-landing", s3_endpoint_url=s3.endpoint_url
    )
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    try:
        with running_simulator(source=ORG) as (_, base_url):
            fetched = dg.materialize(
                [okta_system_log],
                resources={
                    "okta": OktaResource(base_url=base_url, api_token=TOKEN),
                    "landing": landing,
                },
                run_config=quiet,
                tags=range_tags(start, end),
            )
        loaded = dg.materialize(
            [opensearch_okta_logs],
            resources={
                "landing": landing,
                "opensearch": OpenSearchResource(
                    url=opensearch_endpoint.url,
                    username=opensearch_endpoint.username,
                    password=opensearch_endpoint.password,
                    ca_certs=opensearch_endpoint.ca_certs,
                    index_prefix=prefix,
                ),
            },
            run_config=quiet,
            tags=range_tags(start, end),
        )
        assert fetched.success and loaded.success
        window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
        expected = {s.uuid for s in ORG.published_between(*window)}
        keys = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="okta-landing/")
        assert len(keys["Contents"]) == 6  # one object per 5-minute window
        # The UI links each window's file in the S3 console.
        console = f"https://console.aws.amazon.com/s3/object/{s3.bucket}?prefix=okta-landing/"
        landed = fetched.asset_materializations_for_node("okta_system_log")
        assert len(landed) == 6
        for materialization in landed:
            link = materialization.metadata["landed_file"]
            assert isinstance(link, dg.UrlMetadataValue) and link.value.startswith(console)
        checks = check_results(loaded)
        assert checks["count_parity"].passed and checks["all_events_indexed"].passed
        assert len(checks["count_parity"].by_window) == 6
        opensearch.indices.refresh(index=f"{prefix}-*")
        documents = opensearch.count(index=f"{prefix}-*")["count"]
        assert documents == len(expected)
    finally:
        drop_prefix(opensearch, prefix)


def test_the_directory_and_s3_zones_split_a_stream_identically(s3: LocalS3, tmp_path: Path) -> None:
    events = [event(n, minute=n % 15) for n in range(90)]
    end = START + timedelta(minutes=15)
    on_disk, _ = split_into_windows(LandingZone(tmp_path), events, START, end, FETCHED_AT)
    on_s3, _ = split_into_windows(s3_zone(s3), events, START, end, FETCHED_AT)
    assert on_disk == on_s3 and len(on_s3) == 3
