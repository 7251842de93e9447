"""A silent log stream: polling lands events and the stream delivers none of them. The health
check fails and raises one finding and one alert for the whole silence, through the findings'
routing, and passes again once the stream delivers. On the simulator's and moto's sockets and
the local OpenSearch node."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from opensearchpy import OpenSearch

from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.log_stream import LogStreamResource, log_stream_delivering
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.landing.zone import window_start
from okta_pipeline.lib.log_stream import drain_queue
from okta_pipeline.lib.log_stream.silence import STREAM_SILENT
from okta_pipeline.lib.okta_simulator.log_stream import DeliveryFaults, ExtendableSource
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.standins.log_stream_aws import LocalLogStreamAws
from okta_pipeline.lib.standins.slack import SlackStandIn
from okta_pipeline_tests.okta.helpers import TOKEN, running_simulator
from okta_pipeline_tests.okta.log_stream_helpers import create_stream, ms, streamer_for


def test_a_silent_stream_fails_its_check_and_is_alerted_once_until_it_delivers_again(
    tmp_path: Path,
    aws: LocalLogStreamAws,
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
) -> None:
    now = datetime.now(UTC)
    current = window_start(now)
    last_streamed = current - 3 * WINDOW  # older than the ten minutes the check looks at
    source = ExtendableSource(SimulatedOrg(seed=67, events_per_minute=30))
    streamer = streamer_for(
        aws, source, ms(last_streamed), DeliveryFaults(drop_fraction=0, duplicate_fraction=0)
    )
    zone = LandingZone(tmp_path / "landing")
    sqs = aws.client("sqs")
    tag = uuid.uuid4().hex[:8]
    prefix, findings, ledger = f"test-silent-{tag}", f"test-silent-findings-{tag}", f"ledger-{tag}"
    with running_simulator(source=source) as (app, base_url), SlackStandIn("xoxb-t") as slack:
        app.log_streams = streamer
        stream_url = f"{base_url}/api/v1/logStreams/{create_stream(base_url)['id']}"
        streamer.deliver_until(ms(last_streamed + WINDOW))
        drain_queue(sqs, aws.queue_url, zone, wait_seconds=0)
        # turned off in Okta: nothing is streamed from then on, and polling goes on landing
        httpx.post(f"{stream_url}/lifecycle/deactivate", headers={"Authorization": f"SSWS {TOKEN}"})
        streamer.deliver_until(ms(now) + 10_000)
        polled = dg.materialize(
            [okta_system_log],
            resources={
                "okta": OktaResource(base_url=base_url, api_token=TOKEN),
                "landing": LandingZoneResource(root=str(tmp_path / "landing")),
            },
            partition_key=(current - WINDOW).strftime("%Y-%m-%d-%H:%M"),
        )
        assert polled.success
        resources: dict[str, Any] = {
            "landing": LandingZoneResource(root=str(tmp_path / "landing")),
            "log_stream": LogStreamResource(queue_url=aws.queue_url, endpoint_url=aws.endpoint_url),
            "opensearch": OpenSearchResource(
                url=opensearch_endpoint.url, index_prefix=prefix, findings_prefix=findings
            ),
            "alerts": AlertsResource(slack_webhook_url=slack.webhook_url, ledger_index=ledger),
        }
        try:
            first = log_stream_delivering(**resources)
            assert isinstance(first, dg.AssetCheckResult) and not first.passed
            assert "Reactivate it" in (first.description or "")
            assert meta(first, "pushed_events") == 0
            assert meta(first, "landed_events") > 0
            # the silence starts with the window after the stream's last delivery
            assert meta(first, "silent_since") == (last_streamed + WINDOW).isoformat()
            (finding,) = silent_findings(opensearch, findings)
            assert finding["finding_id"] == meta(first, "finding_id")
            assert finding["entity_key"] == f"log_stream.queue={aws.queue_url.rsplit('/', 1)[1]}"
            assert len(slack.messages) == 1
            assert "Okta log stream silent" in slack.messages[0].text

            again = log_stream_delivering(**resources)
            assert isinstance(again, dg.AssetCheckResult) and not again.passed
            assert meta(again, "finding_id") == meta(first, "finding_id")
            assert len(silent_findings(opensearch, findings)) == 1 and len(slack.messages) == 1

            # reactivated, it streams what is published from then on, and the check passes
            streamer.set_clock(lambda: ms(now - timedelta(minutes=2)))
            httpx.post(
                f"{stream_url}/lifecycle/activate", headers={"Authorization": f"SSWS {TOKEN}"}
            )
            streamer.deliver_until(ms(now) + 10_000)
            drain_queue(sqs, aws.queue_url, zone, wait_seconds=0)
            recovered = log_stream_delivering(**resources)
            assert isinstance(recovered, dg.AssetCheckResult) and recovered.passed
            assert meta(recovered, "pushed_events") > 0
            assert len(slack.messages) == 1
        finally:
            drop_prefix(opensearch, prefix)
            opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
            opensearch.indices.delete(index=ledger, params={"ignore_unavailable": "true"})


def meta(result: dg.AssetCheckResult, key: str) -> Any:
    return result.metadata[key].value


def silent_findings(opensearch: OpenSearch, prefix: str) -> list[dict[str, Any]]:
    opensearch.indices.refresh(index=daily_indices(prefix), params={"ignore_unavailable": "true"})
    hits = opensearch.search(
        index=daily_indices(prefix),
        body={"size": 100, "query": {"term": {"detection.id": STREAM_SILENT.id}}},
        params={"ignore_unavailable": "true"},
    )["hits"]["hits"]
    return [hit["_source"] for hit in hits]
