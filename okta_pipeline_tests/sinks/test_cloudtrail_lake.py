"""The CloudTrail Lake sink: landed windows shipped by `cloudtrail_lake_okta_events` through
boto3's `cloudtrail-data` client to the stand-in over a real socket, which enforces
PutAuditEvents' documented limits and answers as AWS does."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.range_load import PARITY
from okta_pipeline.defs.sinks.assets import cloudtrail_lake_okta_events
from okta_pipeline.defs.sinks.resources import CloudTrailLakeResource
from okta_pipeline.defs.sinks.shipping import ALL_ACCEPTED
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.log_stream import ExtendableSource
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent
from okta_pipeline.lib.sinks.cloudtrail_lake import MAX_REQUEST_BYTES
from okta_pipeline.lib.sinks.sent_ledger import SentLedger
from okta_pipeline.lib.standins.cloudtrail_data import CloudTrailDataStandIn
from okta_pipeline_tests.okta.helpers import TOKEN, range_tags, recent_window, running_simulator
from okta_pipeline_tests.run_results import check_results

CHANNEL = "arn:aws:cloudtrail:us-east-1:123456789012:channel/okta-pipeline-test"
ACCESS_KEY = "AKIASTANDINEXAMPLE01"
SECRET = "stand-in-secret-that-must-never-be-logged"


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudTrailDataStandIn]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with CloudTrailDataStandIn(CHANNEL, ACCESS_KEY) as standin:
        yield standin


def resources(lake: CloudTrailDataStandIn, landing: Path, base_url: str) -> dict[str, Any]:
    return {
        "okta": OktaResource(base_url=base_url, api_token=TOKEN, backoff_seconds=0.01),
        "landing": LandingZoneResource(root=str(landing)),
        "cloudtrail_lake": CloudTrailLakeResource(channel_arn=CHANNEL, endpoint_url=lake.base_url),
    }


def landed(zone: LandingZone, start: datetime, end: datetime) -> list[str]:
    return [e["uuid"] for e in zone.iter_window_events(start, end)]


def test_every_landed_event_is_accepted_once_and_only_late_events_are_sent_again(
    tmp_path: Path, lake: CloudTrailDataStandIn
) -> None:
    start, end = recent_window(hours_ago=3, span=timedelta(hours=2))
    source = ExtendableSource(SimulatedOrg(seed=83, events_per_minute=10))
    zone = LandingZone(tmp_path / "landing")
    with running_simulator(source=source) as (_, base_url):
        given = resources(lake, tmp_path / "landing", base_url)
        first = dg.materialize(
            [okta_system_log, cloudtrail_lake_okta_events],
            resources=given,
            tags=range_tags(start, end),
            instance=(instance := dg.DagsterInstance.ephemeral()),
        )
        assert first.success
        uuids = landed(zone, start, end)
        assert len(uuids) > 200 and set(lake.accepted) == set(uuids)
        assert set(lake.accepted.values()) == {1}  # each once
        assert check_results(first)[PARITY].passed and check_results(first)[ALL_ACCEPTED].passed
        # each window in calls of up to 100 events, not a call per event
        per_window = [len(zone.read_window(start + n * WINDOW)) for n in range(24)]
        assert lake.calls == sum(math.ceil(n / 100) for n in per_window)
        mapped = lake.event_data[uuids[0]]
        assert mapped["UID"] == uuids[0] and mapped["recipientAccountId"] == "123456789012"

        calls = lake.calls
        again = dg.materialize(
            [okta_system_log, cloudtrail_lake_okta_events],
            resources=given,
            tags=range_tags(start, end),
            instance=instance,
        )
        assert again.success and lake.calls == calls  # nothing sent again

        # two late events arrive in one window; its re-fetch sends exactly those two
        window = start + 4 * WINDOW
        late = []
        for n, template in enumerate(zone.read_window(window)[:2]):
            event = {**template, "uuid": f"late-event-{n:02d}", "published": template["published"]}
            published = int(
                datetime.fromisoformat(event["published"].replace("Z", "+00:00")).timestamp() * 1000
            )
            source.append(StoredEvent(published, event["uuid"], published, event))
            late.append(event["uuid"])
        refetched = dg.materialize(
            [okta_system_log, cloudtrail_lake_okta_events],
            resources=given,
            partition_key=window.strftime("%Y-%m-%d-%H:%M"),
            instance=instance,
        )
    assert refetched.success
    assert lake.calls == calls + 1 and sorted(lake.accepted)[-2:] == sorted(late)
    assert set(lake.accepted.values()) == {1} and len(lake.accepted) == len(uuids) + 2


def test_throttled_entries_are_retried_and_a_refused_entry_is_dead_lettered_with_its_code(
    tmp_path: Path, lake: CloudTrailDataStandIn
) -> None:
    start, end = recent_window(hours_ago=3, span=WINDOW)
    zone = LandingZone(tmp_path / "landing")
    with running_simulator(source=SimulatedOrg(seed=89, events_per_minute=30)) as (_, base_url):
        given = resources(lake, tmp_path / "landing", base_url)
        assert dg.materialize(
            [okta_system_log], resources=given, tags=range_tags(start, end)
        ).success
        uuids = landed(zone, start, end)
        lake.throttle_next_entries(30)
        lake.refuse_entries({uuids[3]: "InvalidData"})
        shipped = dg.materialize(
            [cloudtrail_lake_okta_events], resources=given, tags=range_tags(start, end)
        )
    assert shipped.success
    assert lake.throttled == 30 and set(lake.accepted) == set(uuids) - {uuids[3]}
    assert set(lake.accepted.values()) == {1}
    checks = check_results(shipped)
    assert checks[PARITY].passed  # accepted + dead-lettered = landed
    refused = checks[ALL_ACCEPTED]
    assert not refused.passed and refused.severity == dg.AssetCheckSeverity.WARN
    assert "1 items were dead-lettered" in refused.description
    assert "InvalidData" in refused.description
    assert uuids[3] not in SentLedger(zone, "cloudtrail_lake").accepted(start)
    (dead,) = [
        p for p in (tmp_path / "landing" / "_dead_letter" / "cloudtrail_lake").glob("*.jsonl.gz")
    ]
    with gzip.open(dead, "rt") as lines:
        (letter,) = [json.loads(line) for line in lines]
    assert letter["event"]["uuid"] == uuids[3] and letter["reason"].startswith("InvalidData")


def test_an_event_over_the_size_limit_is_dead_lettered_not_truncated(
    tmp_path: Path, lake: CloudTrailDataStandIn
) -> None:
    start, end = recent_window(hours_ago=3, span=WINDOW)
    org = SimulatedOrg(seed=97, events_per_minute=5)
    source = ExtendableSource(org)
    template = next(
        iter(org.published_between(int(start.timestamp() * 1000), int(end.timestamp() * 1000)))
    )
    huge = {
        **template.event,
        "uuid": "oversized-event",
        "debugContext": {"debugData": {"blob": "x" * MAX_REQUEST_BYTES}},
    }
    source.append(
        StoredEvent(template.published_ms + 1, "oversized-event", template.published_ms + 1, huge)
    )
    with running_simulator(source=source) as (_, base_url):
        shipped = dg.materialize(
            [okta_system_log, cloudtrail_lake_okta_events],
            resources=resources(lake, tmp_path / "landing", base_url),
            tags=range_tags(start, end),
        )
    assert shipped.success
    assert "oversized-event" not in lake.accepted and len(lake.accepted) > 0
    assert all(len(r.body) <= MAX_REQUEST_BYTES for r in lake.requests)
    refused = check_results(shipped)[ALL_ACCEPTED]
    assert "EventTooLarge" in refused.description and check_results(shipped)[PARITY].passed


def test_refused_credentials_fail_the_blocking_check_naming_them_and_no_secret_is_recorded(
    tmp_path: Path, lake: CloudTrailDataStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, end = recent_window(hours_ago=3, span=2 * WINDOW)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREVOKEDEXAMPLE01")
    instance = dg.DagsterInstance.ephemeral()
    with running_simulator(source=SimulatedOrg(seed=101, events_per_minute=10)) as (_, base_url):
        shipped = dg.materialize(
            [okta_system_log, cloudtrail_lake_okta_events],
            resources=resources(lake, tmp_path / "landing", base_url),
            tags=range_tags(start, end),
            instance=instance,
            raise_on_error=False,
        )
    assert not shipped.success  # the blocking check failed the step
    assert not lake.accepted
    parity = check_results(shipped)[PARITY]
    assert not parity.passed and len(parity.failed) == 2
    assert "UnrecognizedClientException" in parity.description
    assert "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY" in parity.description
    records = instance.get_records_for_run(shipped.run_id).records
    assert all(SECRET not in dg.serialize_value(r.event_log_entry) for r in records)
    assert all(SECRET not in str(r.headers) for r in lake.requests)


def test_the_stand_in_refuses_what_put_audit_events_refuses() -> None:
    with CloudTrailDataStandIn(CHANNEL, ACCESS_KEY) as lake:
        client = boto3.client(
            "cloudtrail-data",
            endpoint_url=lake.base_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET,
            config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        )

        def refusal(**arguments: Any) -> str:
            with pytest.raises(ClientError) as raised:
                client.put_audit_events(**{"channelArn": CHANNEL, **arguments})
            return str(raised.value.response["Error"]["Code"])

        one = {"id": "a", "eventData": "{}"}
        assert (
            refusal(auditEvents=[{**one, "id": f"e{n}"} for n in range(101)])
            == "ValidationException"
        )
        assert refusal(auditEvents=[]) == "ValidationException"
        assert refusal(auditEvents=[{**one, "id": "not valid!"}]) == "ValidationException"
        assert refusal(auditEvents=[one, one]) == "DuplicatedAuditEventId"
        assert refusal(auditEvents=[one], channelArn="not-an-arn") == "InvalidChannelARN"
        assert refusal(auditEvents=[one], channelArn=CHANNEL + "-other") == "ChannelNotFound"
        big = [{"id": f"e{n}", "eventData": "x" * 19_800} for n in range(51)]
        assert refusal(auditEvents=big) == "ValidationException"
        answer = client.put_audit_events(
            channelArn=CHANNEL,
            auditEvents=[
                {"id": "not-json", "eventData": "{"},
                {"id": "no-fields", "eventData": "{}"},
                {"id": "bad-sum", "eventData": "{}", "eventDataChecksum": "AAAA"},
            ],
        )
        codes = {f["id"]: f["errorCode"] for f in answer["failed"]}
        assert codes == {
            "not-json": "InvalidData",
            "no-fields": "FieldNotFound",
            "bad-sum": "InvalidChecksum",
        }
        unsigned = httpx.post(
            f"{lake.base_url}/PutAuditEvents",
            params={"channelArn": CHANNEL},
            json={"auditEvents": [one]},
        )
        assert unsigned.status_code == 403
        assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert not lake.accepted
