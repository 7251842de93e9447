"""Okta's log stream beside polling: the simulator streaming over EventBridge to SQS on moto's
server (a real socket), the drain landing the same windows, polling over the simulator's socket,
and the local OpenSearch node."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from opensearchpy import OpenSearch

from okta_pipeline.defs.alerts.assets import alert_deliveries
from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.okta.assets import PUSH_AND_POLLING, okta_system_log
from okta_pipeline.defs.okta.log_stream import (
    LogStreamResource,
    log_stream_dead_letters,
    log_stream_drain_job,
    log_stream_queue_sensor,
    process_pushed_windows,
)
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.landing.zone import split_into_windows, window_start
from okta_pipeline.lib.log_stream import drain_queue, queue_depth
from okta_pipeline.lib.log_stream.drain import REJECTED_FOLDER, pushed_uuids
from okta_pipeline.lib.okta_simulator.log_stream import (
    DeliveryFaults,
    EventBridgePublisher,
    ExtendableSource,
    LogStreamer,
)
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.standins.log_stream_aws import LocalLogStreamAws
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline_tests.detections.broken_detection import BROKEN, GOOD, GoodAndBroken
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.okta.helpers import TOKEN, range_tags, recent_window, running_simulator
from okta_pipeline_tests.okta.log_stream_helpers import (
    MINUTE_MS,
    STREAM,
    create_stream,
    ms,
    streamer_for,
)
from okta_pipeline_tests.run_results import check_results


def landed_uuids(zone: LandingZone, start: datetime, end: datetime) -> list[str]:
    return [e["uuid"] for e in zone.iter_window_events(start, end)]


def test_every_streamed_event_is_indexed_once_whatever_the_stream_dropped_doubled_or_reordered(
    tmp_path: Path,
    aws: LocalLogStreamAws,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
) -> None:
    start, end = recent_window(hours_ago=3, span=timedelta(hours=2))
    org = SimulatedOrg(seed=41, events_per_minute=10)
    source = ExtendableSource(org)
    faults = DeliveryFaults(duplicate_fraction=0.05, drop_fraction=0.02)
    streamer = streamer_for(aws, source, ms(start), faults)
    zone = LandingZone(tmp_path / "landing")
    sqs = aws.client("sqs")
    prefix = f"test-push-{uuid.uuid4().hex[:8]}"
    expected = {s.uuid for s in org.published_between(ms(start), ms(end))}
    with running_simulator(source=source) as (app, base_url):
        app.log_streams = streamer
        created = create_stream(base_url)
        assert created["status"] == "ACTIVE" and created["type"] == "aws_eventbridge"
        drained = []
        for moment in range(ms(start), ms(end) + MINUTE_MS, MINUTE_MS):
            streamer.deliver_until(moment)
            # drained every two minutes, as the sensor would (moto's receive grows with depth)
            if (moment - ms(start)) % (2 * MINUTE_MS) == 0:
                drained.append(drain_queue(sqs, aws.queue_url, zone, wait_seconds=0))
        streamer.deliver_until(ms(end) + 10 * MINUTE_MS)
        drained.append(drain_queue(sqs, aws.queue_url, zone, wait_seconds=0))

        stats = streamer.stats
        assert stats.dropped > 0 and stats.duplicates > 0
        # A copy of an event published in the last seconds may still be on its way.
        caught = sum(d.duplicates for d in drained)
        assert caught > 0 and caught >= stats.duplicates - streamer.in_flight
        pushed = set().union(*(pushed_uuids(zone, w) for w in windows(start, end)))
        assert pushed == expected - stats.dropped_uuids  # every delivered event, once
        assert queue_depth(sqs, aws.queue_url) == 0
        # reordered: some window was written again by a later drain round
        assert sum(len(d.windows) for d in drained) > len(list(windows(start, end)))

        resources = {
            "okta": OktaResource(base_url=base_url, api_token=TOKEN, backoff_seconds=0.01),
            "landing": LandingZoneResource(root=str(tmp_path / "landing")),
            "opensearch": OpenSearchResource(url=opensearch_endpoint.url, index_prefix=prefix),
        }
        try:
            polled = dg.materialize(
                [okta_system_log, opensearch_okta_logs],
                resources=resources,
                tags=range_tags(start, end),
            )
            assert polled.success
            # each window's check says what push and polling saw that the other did not
            agree = check_results(polled)[PUSH_AND_POLLING]
            assert agree.passed and len(agree.by_window) == len(list(windows(start, end)))
            compared = [e.metadata for e in agree.by_window.values()]
            assert sum(m["polled_not_pushed"].value for m in compared) == len(
                expected & stats.dropped_uuids
            )
            assert sum(m["pushed_not_polled"].value for m in compared) == 0
            assert sum(m["pushed_events"].value for m in compared) == len(
                expected - stats.dropped_uuids
            )
            landed = landed_uuids(zone, start, end)
            assert len(landed) == len(set(landed)) and set(landed) == expected
            versions = {w: zone.window_version(w) for w in windows(start, end)}
            documents = indexed_versions(opensearch, prefix)
            assert set(documents) == expected and set(documents.values()) == {1}

            again = dg.materialize(
                [okta_system_log, opensearch_okta_logs],
                resources=resources,
                tags=range_tags(start, end),
            )
            assert again.success
            assert {w: zone.window_version(w) for w in windows(start, end)} == versions
            assert indexed_versions(opensearch, prefix) == documents
        finally:
            drop_prefix(opensearch, prefix)


def test_an_event_streamed_before_okta_made_it_queryable_is_landed_and_its_window_warns(
    tmp_path: Path, aws: LocalLogStreamAws
) -> None:
    start, end = recent_window(hours_ago=3, span=WINDOW)
    source = ExtendableSource(SimulatedOrg(seed=61, events_per_minute=10))
    created = next(d for d in load_catalog() if d.id == "okta_log_stream_disabled").examples[1]
    (unqueryable,) = example_events(created, start + timedelta(minutes=1), "not yet queryable")
    published = ms(start + timedelta(minutes=1))
    source.append(
        StoredEvent(published, unqueryable["uuid"], ms(datetime.now(UTC)) + 3_600_000, unqueryable)
    )
    streamer = streamer_for(
        aws, source, ms(start), DeliveryFaults(drop_fraction=0, duplicate_fraction=0)
    )
    streamer.create(STREAM, "http://simulator")
    streamer.deliver_until(ms(end) + 10_000)
    zone = LandingZone(tmp_path / "landing")
    drain_queue(aws.client("sqs"), aws.queue_url, zone, wait_seconds=0)

    with running_simulator(source=source) as (_, base_url):
        polled = dg.materialize(
            [okta_system_log],
            resources={
                "okta": OktaResource(base_url=base_url, api_token=TOKEN),
                "landing": LandingZoneResource(root=str(tmp_path / "landing")),
            },
            tags=range_tags(start, end),
        )
    assert polled.success
    agree = check_results(polled)[PUSH_AND_POLLING]
    (window,) = agree.by_window
    assert window == start.strftime("%Y-%m-%d-%H:%M")
    assert not agree.passed and agree.severity == dg.AssetCheckSeverity.WARN
    assert agree.metadata["pushed_not_polled"].value == 1
    assert agree.metadata["polled_not_pushed"].value == 0
    assert "re-fetch the window later" in agree.description
    assert unqueryable["uuid"] in landed_uuids(zone, start, end)  # landed from the stream


def windows(start: datetime, end: datetime) -> Iterator[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += WINDOW


def indexed_versions(opensearch: OpenSearch, prefix: str) -> dict[str, int]:
    opensearch.indices.refresh(index=daily_indices(prefix))
    hits = opensearch.search(
        index=daily_indices(prefix),
        body={"size": 10_000, "version": True, "_source": False, "query": {"match_all": {}}},
    )["hits"]["hits"]
    return {hit["_id"]: hit["_version"] for hit in hits}


KILLED_DRAIN = """
import os, signal, sys
from pathlib import Path
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.log_stream import drain_queue
from okta_pipeline.lib.standins.s3 import local_client

endpoint, queue_url, root = sys.argv[1:4]
drain_queue(
    local_client("sqs", endpoint), queue_url, LandingZone(Path(root)), wait_seconds=0,
    round_messages=40, after_write=lambda: os.kill(os.getpid(), signal.SIGKILL),
)
"""


def test_a_drain_killed_between_the_window_write_and_the_delete_loses_and_doubles_nothing(
    tmp_path: Path, aws: LocalLogStreamAws
) -> None:
    start, end = recent_window(hours_ago=3, span=timedelta(minutes=10))
    org = SimulatedOrg(seed=43, events_per_minute=10)
    streamer = streamer_for(aws, ExtendableSource(org), ms(start), DeliveryFaults(drop_fraction=0))
    streamer.create(STREAM, "http://simulator")
    streamer.deliver_until(ms(end) + 10_000)  # past the longest delivery delay
    delivered = {s.uuid for s in org.published_between(ms(start), ms(end))}
    root = tmp_path / "landing"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_DRAIN, aws.endpoint_url, aws.queue_url, str(root)],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert killed.returncode == -9, killed.stderr.decode()
    zone = LandingZone(root)
    first_round = landed_uuids(zone, start, end + WINDOW)  # and what came after `end`
    assert 0 < len(first_round) <= 40  # written, and its messages not deleted

    time.sleep(2.5)  # the killed drain's messages become visible again
    report = drain_queue(aws.client("sqs"), aws.queue_url, zone, wait_seconds=0)
    assert report.duplicates >= len(first_round)  # they came back, and changed nothing
    landed = landed_uuids(zone, start, end)
    assert len(landed) == len(set(landed)) and set(landed) == delivered
    assert queue_depth(aws.client("sqs"), aws.queue_url) == 0


def test_bodies_that_are_not_okta_events_are_set_aside_with_their_reason_and_the_rest_lands(
    tmp_path: Path, aws: LocalLogStreamAws
) -> None:
    event = next(
        SimulatedOrg(seed=47).published_between(
            ms(datetime(2026, 11, 20, 9, tzinfo=UTC)), ms(datetime(2026, 11, 20, 10, tzinfo=UTC))
        )
    ).event
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SystemLog",
        "source": "aws.partner/okta.com/dev-simulated/okta-pipeline",
        "account": "123456789012",
        "time": event["published"],
        "region": "us-east-1",
        "resources": [],
        "detail": event,
    }
    bodies = [
        "{not json",
        json.dumps({**envelope, "detail": "a string"}),
        json.dumps({**envelope, "source": "aws.partner/another.com/x/y"}),
        json.dumps({**envelope, "detail": {"message": "no uuid"}}),
        json.dumps(envelope),
    ]
    sqs = aws.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=aws.queue_url, MessageBody=body)
    zone = LandingZone(tmp_path / "landing")
    report = drain_queue(sqs, aws.queue_url, zone, wait_seconds=0)

    assert report.messages == 5 and report.events == 1 and report.new == 1
    published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
    assert [e["uuid"] for e in zone.read_window(window_start(published))] == [event["uuid"]]
    assert report.rejected_location and REJECTED_FOLDER in report.rejected_location
    with gzip.open(report.rejected_location, "rt") as lines:
        aside = [json.loads(line) for line in lines]
    reasons = sorted(r["reason"] for r in aside)
    assert len(aside) == 4 and {r["body"] for r in aside} == set(bodies[:4])
    assert reasons[0].startswith("detail is not a LogEvent (a JSON str)")
    assert any("no uuid" in r for r in reasons)
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("is not this deployment's Okta log stream" in r for r in reasons)
    assert queue_depth(sqs, aws.queue_url) == 0  # set aside, then deleted


def quietest_recent_window(span: timedelta) -> tuple[datetime, datetime]:
    """The latest Sunday 03:00 UTC range: the simulated org's fewest events, whatever the clock."""
    now = datetime.now(UTC) - timedelta(hours=3)
    start = now.replace(hour=3, minute=0, second=0, microsecond=0)
    start -= timedelta(days=(start.weekday() - 6) % 7)
    if start + span > now:
        start -= timedelta(days=7)
    return start, start + span


def test_two_failed_deliveries_deactivate_the_stream_and_polling_finds_its_lifecycle_event(
    aws: LocalLogStreamAws,
) -> None:
    start, end = quietest_recent_window(span=timedelta(minutes=10))
    source = ExtendableSource(SimulatedOrg(seed=53, events_per_minute=20))
    streamer = LogStreamer(
        source,
        "dev-simulated",
        connect=lambda _: EventBridgePublisher(aws.client("events"), "no-such-bus"),
        clock_ms=lambda: ms(start),
    )
    with running_simulator(source=source) as (app, base_url):
        app.log_streams = streamer
        stream = create_stream(base_url)
        # Okta delivers as it goes: one PutEvents per step that has something due, so two
        # failures need two steps with events even at the simulated org's quietest hour
        for step_ms in range(ms(start), ms(start) + 5 * MINUTE_MS, 15_000):
            streamer.deliver_until(step_ms)
        answer = httpx.get(
            f"{base_url}/api/v1/logStreams/{stream['id']}",
            headers={"Authorization": f"SSWS {TOKEN}"},
        )
        assert answer.json()["status"] == "INACTIVE"
        assert streamer.stats.failed_puts == 2 and streamer.stats.delivered == 0
        polled = httpx.get(
            f"{base_url}/api/v1/logs",
            params={
                "since": start.isoformat().replace("+00:00", "Z"),
                "until": end.isoformat().replace("+00:00", "Z"),
                "filter": 'eventType eq "system.log_stream.lifecycle.deactivate"',
                "limit": 1000,
            },
            headers={"Authorization": f"SSWS {TOKEN}"},
        ).json()
        assert [e["target"][0]["id"] for e in polled] == [stream["id"]]
        assert polled[0]["actor"]["alternateId"] == "system@okta.com"
        # reactivated, it streams what is published from then on (no replay)
        httpx.post(
            f"{base_url}/api/v1/logStreams/{stream['id']}/lifecycle/activate",
            headers={"Authorization": f"SSWS {TOKEN}"},
        )
        assert streamer.all(base_url)[0]["status"] == "ACTIVE"


def test_the_drain_job_detects_and_alerts_the_open_window_once_and_polling_later_adds_nothing(
    tmp_path: Path,
    aws: LocalLogStreamAws,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
) -> None:
    detection = next(d for d in load_catalog() if d.id == "okta_log_stream_disabled")
    now = datetime.now(UTC)
    closed = window_start(now) - WINDOW
    events = example_events(detection.examples[0], closed + timedelta(seconds=30), "closed")
    events += example_events(detection.examples[0], now - timedelta(seconds=1), "open")
    source = ExtendableSource(SimulatedOrg(seed=59, events_per_minute=1))
    for event in events:
        published = ms(datetime.fromisoformat(event["published"].replace("Z", "+00:00")))
        source.append(StoredEvent(published, event["uuid"], published, event))
    streamer = streamer_for(
        aws, source, ms(closed), DeliveryFaults(drop_fraction=0, duplicate_fraction=0)
    )
    streamer.create(STREAM, "http://simulator")
    streamer.deliver_until(ms(now) + 10_000)

    tag = uuid.uuid4().hex[:8]
    prefix, findings = f"test-push-{tag}", f"test-push-findings-{tag}"
    ledger = f"test-push-ledger-{tag}"
    with SlackStandIn("xoxb-test") as slack:
        resources: dict[str, Any] = {
            "log_stream": LogStreamResource(
                queue_url=aws.queue_url,
                dead_letter_queue_url=aws.dead_letter_queue_url,
                endpoint_url=aws.endpoint_url,
                wait_seconds=0,
            ),
            "landing": LandingZoneResource(root=str(tmp_path / "landing")),
            "opensearch": OpenSearchResource(
                url=opensearch_endpoint.url, index_prefix=prefix, findings_prefix=findings
            ),
            "detections": DetectionsResource(only=[detection.id]),
            "alerts": AlertsResource(slack_webhook_url=slack.webhook_url, ledger_index=ledger),
        }
        try:
            with dg.instance_for_test() as instance:
                with dg.build_sensor_context(instance=instance, resources=resources) as context:
                    request = log_stream_queue_sensor(context)
                assert isinstance(request, dg.RunRequest)

                run = log_stream_drain_job.execute_in_process(
                    resources=resources, instance=instance
                )
                assert run.success
                found = finding_windows(opensearch, findings)
                assert sorted(found.values()) == [closed.isoformat(), window_start(now).isoformat()]
                assert len(slack.messages) == 2

                with dg.build_sensor_context(instance=instance, resources=resources) as context:
                    empty = log_stream_queue_sensor(context)
                assert isinstance(empty, dg.SkipReason)
                dead_letters = log_stream_dead_letters(log_stream=resources["log_stream"])
                assert isinstance(dead_letters, dg.AssetCheckResult) and dead_letters.passed

                # The closed window later arrives by polling and goes through the assets:
                # the same finding ids, and no second alert.
                with running_simulator(source=source) as (_, base_url):
                    polled = dg.materialize(
                        [okta_system_log, opensearch_okta_logs, okta_detections, alert_deliveries],
                        resources={
                            **resources,
                            "okta": OktaResource(base_url=base_url, api_token=TOKEN),
                        },
                        partition_key=closed.strftime("%Y-%m-%d-%H:%M"),
                        instance=instance,
                    )
                assert polled.success
                assert finding_windows(opensearch, findings) == found
                assert len(slack.messages) == 2
        finally:
            drop_prefix(opensearch, prefix)
            opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
            opensearch.indices.delete(index=ledger, params={"ignore_unavailable": "true"})


def finding_windows(opensearch: OpenSearch, prefix: str) -> dict[str, str]:
    """Each finding's window start, by finding id."""
    opensearch.indices.refresh(index=daily_indices(prefix), params={"ignore_unavailable": "true"})
    hits = opensearch.search(
        index=daily_indices(prefix),
        body={"size": 100, "query": {"match_all": {}}},
        params={"ignore_unavailable": "true"},
    )["hits"]["hits"]
    return {
        hit["_source"]["finding_id"]: datetime.fromisoformat(
            hit["_source"]["window"]["start"].replace("Z", "+00:00")
        ).isoformat()
        for hit in hits
    }


def processing(windows: list[str]) -> dg.JobDefinition:
    """The drain job's processing of `windows`, as if the drain had just landed them."""

    @dg.op
    def landed_windows() -> list[str]:
        return windows

    @dg.job
    def process_landed_windows() -> None:
        process_pushed_windows(landed_windows())

    return process_landed_windows


def test_the_drain_skips_a_detection_whose_query_the_node_refuses_and_names_it(
    tmp_path: Path, opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch
) -> None:
    """A refused query does not fail the drain: the other detections write their findings and
    deliver, and the refused one is logged as an error and named in the step's metadata."""
    lockout = load_catalog().get(GOOD)
    anchor = datetime(2026, 10, 9, 9, 0, tzinfo=UTC)
    events = example_events(next(e for e in lockout.examples if e.expect_finding), anchor, "push")
    landing = LandingZoneResource(root=str(tmp_path / "landing"))
    writes, _ = split_into_windows(
        landing.zone(), events, anchor - timedelta(hours=1), anchor + timedelta(hours=1), anchor
    )
    tag = uuid.uuid4().hex[:8]
    prefix, findings = f"test-push-{tag}", f"test-push-findings-{tag}"
    ledger = f"test-push-ledger-{tag}"
    resources: dict[str, Any] = {
        "landing": landing,
        "opensearch": OpenSearchResource(
            url=opensearch_endpoint.url, index_prefix=prefix, findings_prefix=findings
        ),
        "detections": GoodAndBroken(),
        "alerts": AlertsResource(ledger_index=ledger),
    }
    windows = [w.start.isoformat() for w in writes if w.total]
    try:
        with dg.instance_for_test() as instance:
            run = processing(windows).execute_in_process(
                resources=resources,
                instance=instance,
                raise_on_error=False,
            )
            errors = [
                entry.user_message
                for entry in instance.all_logs(run.run_id)
                if entry.level == logging.ERROR
            ]
        assert run.success
        stored = finding_detections(opensearch, findings)
        assert stored and set(stored) == {GOOD}
        (output,) = (
            e for e in run.events_for_node("process_pushed_windows") if e.is_successful_output
        )
        rejected = output.step_output_data.metadata["rejected_detections"].value
        assert isinstance(rejected, dict) and list(rejected) == [BROKEN]
        assert any(BROKEN in message for message in errors)
    finally:
        drop_prefix(opensearch, prefix)
        opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
        opensearch.indices.delete(index=ledger, params={"ignore_unavailable": "true"})


def finding_detections(opensearch: OpenSearch, prefix: str) -> list[str]:
    """Each stored finding's detection id."""
    opensearch.indices.refresh(index=daily_indices(prefix), params={"ignore_unavailable": "true"})
    hits = opensearch.search(
        index=daily_indices(prefix),
        body={"size": 100, "query": {"match_all": {}}},
        params={"ignore_unavailable": "true"},
    )["hits"]["hits"]
    return [hit["_source"]["detection"]["id"] for hit in hits]
