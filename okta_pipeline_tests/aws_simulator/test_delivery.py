"""Delivery in CloudTrail's S3 layout: keys, gzipped bodies, delays, and idempotent writes."""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from okta_pipeline.lib.aws_simulator.delivery import TrailObject, deliver
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline_tests.aws_simulator.trails import (
    END,
    MINUTE,
    START,
    records,
    shared_org,
    trail,
)
from okta_pipeline_tests.storage.local_s3 import running_s3

WINDOW = 5 * MINUTE
KEY = re.compile(
    r"^AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/(?P=account)_CloudTrail_(?P=region)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_[0-9A-Za-z]{16}\.json\.gz$"
)


def objects() -> list[TrailObject]:
    return trail().objects_between(START + 20 * MINUTE, END)


def test_keys_follow_cloudtrails_layout_dated_by_delivery() -> None:
    found = objects()
    assert found
    for trail_object in found:
        match = KEY.match(trail_object.key)
        assert match, trail_object.key
        delivered = datetime.fromtimestamp(trail_object.delivered_ms / 1000, UTC)
        assert (match["y"], match["m"], match["d"]) == (
            f"{delivered:%Y}",
            f"{delivered:%m}",
            f"{delivered:%d}",
        )
        assert match["stamp"] == f"{delivered:%Y%m%dT%H%MZ}"
        assert match["account"] == trail_object.account_id
        assert match["region"] == trail_object.region
    with_org = SimulatedTrail(shared_org(), organization_id="o-a1b2c3d4e5")
    keys = [o.key for o in with_org.objects_between(START + 20 * MINUTE, START + 30 * MINUTE)]
    assert keys and all(k.startswith("AWSLogs/o-a1b2c3d4e5/") and KEY.match(k) for k in keys)


def test_each_record_is_in_exactly_one_object_with_a_five_to_fifteen_minute_delay() -> None:
    start = START + 20 * MINUTE
    delivered = objects()
    placed = [(o, s) for o in delivered for s in o.records]
    ids = [s.event_id for _, s in placed]
    assert len(ids) == len(set(ids))
    expected = {s.event_id for s in records() if start <= s.delivered_ms < END}
    assert set(ids) == expected
    for trail_object, stored in placed:
        assert stored.delivered_ms == trail_object.delivered_ms
        assert (stored.account_id, stored.region) == (trail_object.account_id, trail_object.region)
        assert 5 * MINUTE <= trail_object.delivered_ms - stored.event_time_ms <= 15 * MINUTE
    # Every five minutes per account and region, at an offset of its own.
    by_stream: dict[tuple[str, str], set[int]] = defaultdict(set)
    for trail_object in delivered:
        by_stream[(trail_object.account_id, trail_object.region)].add(trail_object.delivered_ms)
    assert len(by_stream) == 6
    assert len({min(times) % WINDOW for times in by_stream.values()}) > 1
    for times in by_stream.values():
        assert all(
            (later - earlier) % WINDOW == 0
            for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
        )


def test_objects_span_several_windows_and_windows_spread_over_several_objects() -> None:
    delivered = objects()
    spans = [len({s.event_time_ms // WINDOW for s in o.records}) for o in delivered]
    assert max(spans) >= 2 and sum(spans) / len(spans) > 1.5
    holders: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for trail_object in delivered:
        for stored in trail_object.records:
            window = stored.event_time_ms // WINDOW
            holders[(stored.account_id, stored.region, window)].add(trail_object.key)
    assert any(len(keys) >= 2 for keys in holders.values())


def test_an_objects_body_is_the_gzipped_records_document() -> None:
    trail_object = max(objects(), key=lambda o: len(o.records))
    body = trail_object.body()
    assert body[:2] == b"\x1f\x8b" and body == trail_object.body()
    document = json.loads(gzip.decompress(body))
    assert list(document) == ["Records"]
    assert document["Records"] == [s.record for s in trail_object.records]


def test_delivering_what_had_arrived_then_the_rest_writes_the_same_bytes() -> None:
    start, end = START + 60 * MINUTE, START + 90 * MINUTE
    halfway = START + 75 * MINUTE
    everything = {o.key: o for o in trail().objects_between(start, end)}
    with running_s3() as s3:
        client = s3.client()
        first = deliver(
            client, s3.bucket, "cloudtrail/", trail(), start, end, delivered_by_ms=halfway
        )
        early = stored_objects(client, s3.bucket)
        assert set(early) == {
            f"cloudtrail/{key}" for key, o in everything.items() if o.delivered_ms <= halfway
        }
        assert 0 < first.objects < len(everything)
        assert first.records == sum(
            len(o.records) for o in everything.values() if o.delivered_ms <= halfway
        )
        # A trail built again delivers the same objects.
        rest = deliver(client, s3.bucket, "cloudtrail", SimulatedTrail(shared_org()), start, end)
        after = stored_objects(client, s3.bucket)
        assert set(after) == {f"cloudtrail/{key}" for key in everything}
        assert rest.objects == len(everything)
        assert all(after[key] == body for key, body in early.items())
        again = deliver(client, s3.bucket, "cloudtrail", trail(), start, end)
        assert again == rest and stored_objects(client, s3.bucket) == after
        head = client.head_object(Bucket=s3.bucket, Key=next(iter(after)))
        assert head["ContentType"] == "application/json"
        assert head["ContentEncoding"] == "gzip"


def stored_objects(client: Any, bucket: str) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=bucket)
    return {
        item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listed.get("Contents", [])
    }
