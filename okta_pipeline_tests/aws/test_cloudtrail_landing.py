"""Landing CloudTrail from a trail bucket on a local S3 (a real socket): objects that span
windows, objects delivered late, re-runs, records sharing a second, organization trails."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from okta_pipeline.defs.aws.resources import CloudTrailResource
from okta_pipeline.defs.deployment import DeploymentSettings, DeploymentSettingsError
from okta_pipeline.lib.cloudtrail.landing import MALFORMED_FOLDER, land_range
from okta_pipeline.lib.cloudtrail.trail import TrailBucket, TrailLocation, parse_object
from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD, LandingZone
from okta_pipeline_tests.aws.trail_objects import object_key, put_object, record
from okta_pipeline_tests.storage.local_s3 import LocalS3, running_s3

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
MIB = 1024 * 1024


@pytest.fixture
def s3() -> Iterator[LocalS3]:
    with running_s3() as local:
        yield local


def zone(root: Path) -> LandingZone:
    return LandingZone(root, dataset="cloudtrail_events", shape=CLOUDTRAIL_RECORD)


def trail(s3: LocalS3, root: str = "", **options: Any) -> TrailBucket:
    return TrailBucket(s3.client(), TrailLocation.parse(f"s3://{s3.bucket}/{root}"), **options)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def landed_ids(landing: LandingZone, window: datetime) -> list[str]:
    return [r["eventID"] for r in landing.read_window(window)]


def test_late_objects_and_reruns_converge_and_records_sharing_a_second_are_kept(
    s3: LocalS3, tmp_path: Path
) -> None:
    client = s3.client()
    same_second = [record(at(3) + timedelta(seconds=7), "CreateUser") for _ in range(3)]
    early = [*same_second, record(at(6))]
    put_object(client, s3.bucket, object_key(at(11)), early)
    landing = zone(tmp_path)

    first = land_range(landing, trail(s3), START, START + 2 * FIVE, datetime.now(UTC))
    assert [w.total for w in first.writes] == [3, 1]
    assert first.deliveries[START].objects == 1
    assert sorted(landed_ids(landing, START)) == sorted(r["eventID"] for r in same_second)

    # An object delivered later holds one more record of each window.
    late = [record(at(4) + timedelta(seconds=59)), record(at(8.5))]
    put_object(client, s3.bucket, object_key(at(19), suffix="Z9y8X7w6V5u4T3s2"), late)
    second = land_range(landing, trail(s3), START, START + 2 * FIVE, datetime.now(UTC))
    assert [(w.total, w.added) for w in second.writes] == [(4, 1), (2, 1)]
    assert second.deliveries[START].objects == 2

    version = landing.window_version(START)
    third = land_range(landing, trail(s3), START, START + 2 * FIVE, datetime.now(UTC))
    assert [w.added for w in third.writes] == [0, 0]
    assert landing.window_version(START) == version
    # Each window holds its own records only, once each, ordered by time.
    times = [r["eventTime"] for r in landing.read_window(START)]
    assert times == sorted(times) and len(set(landed_ids(landing, START))) == 4


def test_a_run_reads_objects_up_to_the_delivery_horizon(s3: LocalS3, tmp_path: Path) -> None:
    put_object(s3.client(), s3.bucket, object_key(at(50)), [record(at(2))])
    landing = zone(tmp_path)
    within_30 = land_range(landing, trail(s3), START, START + FIVE, datetime.now(UTC))
    assert within_30.writes[0].total == 0 and within_30.objects_read == 0
    wider = trail(s3, max_delivery_delay=timedelta(hours=1))
    assert land_range(landing, wider, START, START + FIVE, datetime.now(UTC)).writes[0].total == 1


def test_organization_trails_prefixes_accounts_and_regions(s3: LocalS3, tmp_path: Path) -> None:
    client = s3.client()
    org = "o-a1b2c3d4e5"
    put_object(client, s3.bucket, object_key(at(7), "trails", org), [record(at(1))])
    put_object(
        client,
        s3.bucket,
        object_key(at(7), "trails", org, account="444455556666", region="eu-west-1"),
        [record(at(2), recipientAccountId="444455556666", awsRegion="eu-west-1")],
    )
    # A digest file and a folder marker are not logs.
    digest = f"trails/AWSLogs/{org}/111122223333/CloudTrail-Digest/us-east-1/2026/11/30/d.json.gz"
    client.put_object(Bucket=s3.bucket, Key=digest, Body=b"{}")
    folder = f"trails/AWSLogs/{org}/111122223333/CloudTrail/us-east-1/2026/11/30/"
    client.put_object(Bucket=s3.bucket, Key=folder, Body=b"")

    everything = land_range(zone(tmp_path / "all"), trail(s3, "trails"), START, START + FIVE, at(9))
    assert everything.writes[0].total == 2 and everything.objects_read == 2
    only_eu = trail(s3, "trails", regions=["eu-west-1"])
    assert land_range(zone(tmp_path / "eu"), only_eu, START, START + FIVE, at(9)).objects_read == 1
    one_account = trail(s3, "trails", accounts=["111122223333"])
    landed = land_range(zone(tmp_path / "one"), one_account, START, START + FIVE, at(9))
    assert landed.writes[0].total == 1


def test_a_malformed_object_is_listed_aside_and_the_rest_of_the_window_lands(
    s3: LocalS3, tmp_path: Path
) -> None:
    client = s3.client()
    good = [record(at(1)), record(at(2))]
    put_object(client, s3.bucket, object_key(at(7)), good)
    broken = object_key(at(8), suffix="BrokenBrokenBrok")
    client.put_object(Bucket=s3.bucket, Key=broken, Body=b"\x1f\x8b not really gzip")
    not_a_log = object_key(at(9), suffix="NotALogNotALogNo")
    client.put_object(Bucket=s3.bucket, Key=not_a_log, Body=_gzip_json({"records": []}))
    odd = [record(at(3)), "not a record", {"eventID": "no-time"}]
    put_object(client, s3.bucket, object_key(at(10), suffix="OddOddOddOddOddO"), odd)
    landing = zone(tmp_path)

    landed = land_range(landing, trail(s3), START, START + FIVE, datetime.now(UTC))

    assert landed.writes[0].total == 3
    assert set(landed.malformed) == {f"s3://{s3.bucket}/{broken}", f"s3://{s3.bucket}/{not_a_log}"}
    assert "gzip" in landed.malformed[f"s3://{s3.bucket}/{broken}"]
    assert "Records" in landed.malformed[f"s3://{s3.bucket}/{not_a_log}"]
    aside = LandingZone(tmp_path, dataset="cloudtrail_events")
    listed = aside.storage.open_read(aside.unplaceable_key(START, START + FIVE, MALFORMED_FOLDER))
    assert listed is not None
    with listed:
        lines = [json.loads(line) for line in gzip.decompress(listed.read()).splitlines()]
    assert {line["object"] for line in lines} == set(landed.malformed)
    assert len(landed.unplaceable) == 2  # the string, and the record with no eventTime


def _gzip_json(document: object) -> bytes:
    return gzip.compress(json.dumps(document).encode(), mtime=0)


def test_an_object_over_the_read_limits_is_listed_aside_and_the_good_ones_land(
    s3: LocalS3, tmp_path: Path
) -> None:
    client = s3.client()
    fetched: list[str] = []
    client.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: fetched.append(params["Key"])
    )
    good = [record(at(1)), record(at(2))]
    put_object(client, s3.bucket, object_key(at(7)), good)
    # A few KB that gunzip to 2 MiB (valid JSON: whitespace inside the list).
    bomb = object_key(at(8), suffix="BombBombBombBomb")
    padded = b'{"Records": [' + b" " * (2 * MIB) + b"]}"
    client.put_object(Bucket=s3.bucket, Key=bomb, Body=gzip.compress(padded, mtime=0))
    # Records of random hex: over the compressed limit as listed.
    huge = object_key(at(9), suffix="HugeHugeHugeHuge")
    put_object(client, s3.bucket, huge, [record(at(3), padding=os.urandom(32 * 1024).hex())])
    # Two gzip members, as `cat a.gz b.gz` writes: one object, read whole.
    first, second = json.dumps(record(at(4))), json.dumps(record(at(4.5)))
    members = gzip.compress(f'{{"Records": [{first},'.encode()) + gzip.compress(
        f"{second}]}}".encode()
    )
    client.put_object(
        Bucket=s3.bucket, Key=object_key(at(10), suffix="TwoMembersTwoMem"), Body=members
    )
    location = TrailLocation.parse(f"s3://{s3.bucket}")
    limited = TrailBucket(client, location, max_object_bytes=16 * 1024, max_uncompressed_bytes=MIB)

    landed = land_range(zone(tmp_path), limited, START, START + FIVE, datetime.now(UTC))

    assert landed.writes[0].total == 4 and landed.objects_read == 4
    bomb_url, huge_url = f"s3://{s3.bucket}/{bomb}", f"s3://{s3.bucket}/{huge}"
    assert set(landed.malformed) == {bomb_url, huge_url}
    assert f"{bomb_url} is over {MIB} bytes uncompressed" in landed.malformed[bomb_url]
    assert "max_uncompressed_mib" in landed.malformed[bomb_url]
    assert f"over {16 * 1024} bytes compressed" in landed.malformed[huge_url]
    assert "max_object_mib" in landed.malformed[huge_url]
    assert huge not in fetched and bomb in fetched  # refused from the listing, unread
    aside = LandingZone(tmp_path, dataset="cloudtrail_events")
    listed = aside.storage.open_read(aside.unplaceable_key(START, START + FIVE, MALFORMED_FOLDER))
    assert listed is not None
    with listed:
        lines = [json.loads(line) for line in gzip.decompress(listed.read()).splitlines()]
    assert {line["object"]: line["reason"] for line in lines} == landed.malformed


def test_objects_read_in_chunks_parse_as_a_whole_file_does() -> None:
    records = [record(at(1)), record(at(2), padding=os.urandom(4096).hex())]
    text = json.dumps({"Records": records}).encode()
    half = len(text) // 2
    data = gzip.compress(text[:half]) + b"\x00" * 4 + gzip.compress(text[half:])
    for size in (1, 7, 4096, len(data)):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert parse_object(chunks) == records
    settings = CloudTrailResource(root="s3://b", max_object_mib=2, max_uncompressed_mib=3).trail()
    assert (settings.max_object_bytes, settings.max_uncompressed_bytes) == (2 * MIB, 3 * MIB)


@pytest.mark.parametrize(
    ("root", "says"),
    [
        ("trail-bucket/logs", "not an S3 URL"),
        ("s3:///logs", "names no bucket"),
        ("s3://trail-bucket/logs/AWSLogs", "stop before AWSLogs/"),
        ("s3://trail-bucket/AWSLogs/111122223333", "stop before AWSLogs/"),
    ],
)
def test_a_trail_location_that_cannot_be_right_is_refused_with_the_fix(
    root: str, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        TrailLocation.parse(root)


def test_a_trail_location_names_its_logs_prefix() -> None:
    assert TrailLocation.parse("s3://trail-bucket").logs_prefix == "AWSLogs/"
    assert TrailLocation.parse("s3://trail-bucket/org/trail/").logs_prefix == "org/trail/AWSLogs/"


def test_the_deployment_refuses_a_cloudtrail_root_that_is_not_s3() -> None:
    with pytest.raises(DeploymentSettingsError, match="OKTA_PIPELINE_CLOUDTRAIL_ROOT"):
        DeploymentSettings.from_environment({"OKTA_PIPELINE_CLOUDTRAIL_ROOT": "/var/trail"})
    settings = DeploymentSettings.from_environment({"OKTA_PIPELINE_CLOUDTRAIL_ROOT": "s3://b/p"})
    assert settings.cloudtrail_root == "s3://b/p"
