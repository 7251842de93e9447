"""The CloudTrail assets on the local node: land from a trail on a local S3, load into
`cloudtrail-*`, with the load's checks per window, through Dagster."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.aws.assets import cloudtrail_events, opensearch_cloudtrail_events
from okta_pipeline.defs.aws.resources import CloudTrailResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.aws_simulator.delivery import MAX_DELIVERY_DELAY_MS, deliver
from okta_pipeline.lib.aws_simulator.scenarios import CROSS_SOURCE_OKTA_SCENARIOS
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.cloudtrail.index import daily_indices
from okta_pipeline.lib.landing import window_start
from okta_pipeline.lib.landing_sql.views import open_landing
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_managed_prefix
from okta_pipeline_tests.aws.trail_objects import object_key, put_object, record
from okta_pipeline_tests.okta.helpers import range_tags
from okta_pipeline_tests.opensearch.loading_helpers import resource
from okta_pipeline_tests.run_results import check_results, materialize_with_totals, window_metadata
from okta_pipeline_tests.storage.local_s3 import CREDENTIALS, LocalS3, running_s3

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
END = START + timedelta(minutes=10)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with running_s3() as local:
        yield local


@pytest.fixture
def cloudtrail_prefix(opensearch: OpenSearch) -> Iterator[str]:
    prefix = f"test-cloudtrail-{uuid.uuid4().hex[:8]}"
    yield prefix
    drop_managed_prefix(opensearch, prefix)


def run(
    s3: LocalS3,
    endpoint: OpenSearchSettings,
    prefix: str,
    root: Path,
    instance: dg.DagsterInstance,
) -> tuple[dg.ExecuteInProcessResult, dict[str, str]]:
    resources: dict[str, Any] = {
        "cloudtrail": CloudTrailResource(root=f"s3://{s3.bucket}", s3_endpoint_url=s3.endpoint_url),
        "landing": LandingZoneResource(root=str(root)),
        "opensearch": resource(endpoint, "test-unused-okta", cloudtrail_prefix=prefix),
    }
    return materialize_with_totals(
        [cloudtrail_events, opensearch_cloudtrail_events],
        resources=resources,
        tags=range_tags(START, END),
        raise_on_error=False,
        instance=instance,
    )


def test_landed_records_are_indexed_with_extracted_fields_and_a_bad_object_set_aside(
    s3: LocalS3,
    opensearch: OpenSearch,
    opensearch_endpoint: OpenSearchSettings,
    cloudtrail_prefix: str,
    tmp_path: Path,
) -> None:
    client = s3.client()
    assume = record(
        START + timedelta(minutes=2, seconds=5),
        "AssumeRoleWithSAML",
        eventSource="sts.amazonaws.com",
        requestParameters={
            "roleSessionName": "ana.lopez@example.com",
            "roleArn": "arn:aws:iam::111122223333:role/OktaAdmin",
            "durationSeconds": 3600,
        },
        responseElements={
            "credentials": {"accessKeyId": "ASIAQWERTYUIOPASDFGH", "expiration": "Nov 30, 2026"},
            "assumedRoleUser": {"arn": "arn:aws:sts::111122223333:assumed-role/OktaAdmin/ana"},
            "subject": "ana.lopez@example.com",
        },
    )
    # The same keys in other shapes: a string, a list, an object with different types.
    varied = [
        record(START + timedelta(minutes=2, seconds=5), requestParameters={"filter": "a=b"}),
        record(START + timedelta(minutes=2, seconds=5), requestParameters={"filter": {"x": [1]}}),
        record(
            START + timedelta(minutes=6),
            responseElements="a bare string",
            sourceIPAddress="s3.amazonaws.com",
        ),
        record(START + timedelta(minutes=7), requestParameters={"roleSessionName": {"odd": True}}),
    ]
    put_object(client, s3.bucket, object_key(START + timedelta(minutes=8)), [assume, *varied])
    bad = object_key(START + timedelta(minutes=9), suffix="BrokenBrokenBrok")
    client.put_object(Bucket=s3.bucket, Key=bad, Body=b"not gzip at all")

    instance = dg.DagsterInstance.ephemeral()
    result, totals = run(s3, opensearch_endpoint, cloudtrail_prefix, tmp_path, instance)

    assert result.success
    assert totals["cloudtrail_malformed_objects"] == "1"
    assert totals["cloudtrail_records"] == "5"
    landed = window_metadata(result, "cloudtrail_events")
    assert [m["dagster/partition_row_count"] for m in landed.values()] == [3, 2]
    loaded = window_metadata(result, "opensearch_cloudtrail_events")
    assert [m["dagster/partition_row_count"] for m in loaded.values()] == [3, 2]
    assert [m["window_dead_lettered"] for m in loaded.values()] == [0, 0]
    checks = check_results(result)
    assert checks["count_parity"].passed and checks["all_events_indexed"].passed
    assert checks["required_fields"].passed

    opensearch.indices.refresh(index=daily_indices(cloudtrail_prefix))
    found = opensearch.search(
        index=daily_indices(cloudtrail_prefix),
        body={"query": {"term": {"okta_pipeline.role_session_name": "ana.lopez@example.com"}}},
    )["hits"]["hits"]
    assert [hit["_id"] for hit in found] == [assume["eventID"]]
    assert found[0]["_source"] == assume  # as AWS wrote it: no derived field in _source
    by_key = opensearch.count(
        index=daily_indices(cloudtrail_prefix),
        body={"query": {"term": {"okta_pipeline.issued_access_key_id": "ASIAQWERTYUIOPASDFGH"}}},
    )
    assert by_key["count"] == 1

    # A re-run converges: nothing new landed, the windows are not sent again.
    again, again_totals = run(s3, opensearch_endpoint, cloudtrail_prefix, tmp_path, instance)
    assert again.success and again_totals["cloudtrail_records_new"] == "0"
    assert again_totals["cloudtrail_load_windows_not_sent_again"] == "2"


def test_a_simulated_trail_converges_as_late_objects_arrive_and_sql_agrees_with_the_index(
    s3: LocalS3,
    opensearch: OpenSearch,
    opensearch_endpoint: OpenSearchSettings,
    cloudtrail_prefix: str,
    tmp_path: Path,
) -> None:
    org = SimulatedOrg(seed=5, scenarios=SCENARIOS + CROSS_SOURCE_OKTA_SCENARIOS)
    trail = SimulatedTrail(org)
    start_ms, end_ms = (int(t.timestamp() * 1000) for t in (START, END))
    truth = Counter(
        window_start(datetime.fromtimestamp(r.event_time_ms / 1000, UTC))
        for r in trail.records_between(start_ms, end_ms)
    )
    # What CloudTrail had delivered four minutes after the range: most records, not all.
    horizon = end_ms + MAX_DELIVERY_DELAY_MS
    early = deliver(s3.client(), s3.bucket, "", trail, start_ms, horizon, end_ms + 240_000)
    instance = dg.DagsterInstance.ephemeral()
    first, _ = run(s3, opensearch_endpoint, cloudtrail_prefix, tmp_path, instance)
    landed_early = {
        key: m["dagster/partition_row_count"]
        for key, m in window_metadata(first, "cloudtrail_events").items()
    }
    assert early.objects and sum(landed_early.values()) < sum(truth.values())

    deliver(s3.client(), s3.bucket, "", trail, start_ms, horizon)  # the rest arrives
    again, totals = run(s3, opensearch_endpoint, cloudtrail_prefix, tmp_path, instance)
    assert again.success
    landed = {
        key: m["dagster/partition_row_count"]
        for key, m in window_metadata(again, "cloudtrail_events").items()
    }
    assert landed == {w.strftime(PARTITION_FORMAT): n for w, n in sorted(truth.items())}
    assert int(totals["cloudtrail_records_new"]) == sum(truth.values()) - sum(landed_early.values())
    assert check_results(again)["count_parity"].passed

    # The SQL view over the landing zone counts what the index holds, window by window.
    opensearch.indices.refresh(index=daily_indices(cloudtrail_prefix))
    indexed = opensearch.search(
        index=daily_indices(cloudtrail_prefix),
        body={
            "size": 0,
            "aggs": {"w": {"date_histogram": {"field": "eventTime", "fixed_interval": "5m"}}},
        },
    )["aggregations"]["w"]["buckets"]
    with open_landing(tmp_path) as database:
        rows = database.connection.execute(
            "SELECT window_start, count(*) FROM cloudtrail_events GROUP BY 1 ORDER BY 1"
        ).fetchall()
    by_sql = {moment.astimezone(UTC): count for moment, count in rows}
    by_index = {datetime.fromtimestamp(b["key"] / 1000, UTC): b["doc_count"] for b in indexed}
    assert by_sql == by_index == dict(truth)
