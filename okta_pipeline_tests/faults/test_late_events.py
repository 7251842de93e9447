"""Events Okta persists 2 and 20 hours late, through the automation, the load and the detections:
the first fetch and the hour's re-fetches miss them, the daily re-fetch lands them, the load
sends just the windows they changed, and the detections then find them.

Every fetch is requested by the project's own automation conditions
(`evaluate_automation_conditions`), at times set on the simulator's clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.faults.automation import Automation
from okta_pipeline_tests.faults.outcome import (
    landed_uuids,
    landed_windows,
    measure,
    published_uuids,
)
from okta_pipeline_tests.okta.helpers import (
    PARTITION_FORMAT,
    TOKEN,
    WithExtraEvents,
    running_simulator,
)

ASSETS = (okta_system_log, opensearch_okta_logs, okta_detections)
LATE = {
    "Okta API token created": timedelta(hours=2),
    "Okta super administrator role granted": timedelta(hours=20),
}


def late_events(anchor: datetime) -> list[StoredEvent]:
    """One event of each detection in LATE, published at `anchor` + 5 and + 15 minutes."""
    catalog = {d.title: d for d in load_catalog()}
    stored = []
    for n, (title, delay) in enumerate(LATE.items()):
        example = next(e for e in catalog[title].examples if e.expect_finding)
        (event,) = example_events(example, anchor + timedelta(minutes=5 + 10 * n), f"late{n}")
        published = int(
            datetime.fromisoformat(event["published"].replace("Z", "+00:00")).timestamp() * 1000
        )
        stored.append(
            StoredEvent(
                published, event["uuid"], published + int(delay.total_seconds() * 1000), event
            )
        )
    return stored


def previous_daily_refetch(now: datetime) -> datetime:
    """The daily re-fetch tick (02:44 UTC) at least a day before `now`."""
    tick = (now - timedelta(days=1)).replace(hour=2, minute=44, second=0, microsecond=0)
    return tick if tick <= now - timedelta(days=1) else tick - timedelta(days=1)


def sent_again(
    instance: dg.DagsterInstance, start: datetime, end: datetime
) -> dict[datetime, bool]:
    """Whether the latest load of each window in [start, end) sent its events again."""
    keys = [
        (start + n * WINDOW).strftime(PARTITION_FORMAT) for n in range(int((end - start) / WINDOW))
    ]
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=opensearch_okta_logs.key, asset_partitions=keys), limit=1000
    ).records  # newest first
    latest: dict[datetime, bool] = {}
    for record in records:
        moment = datetime.strptime(str(record.partition_key), PARTITION_FORMAT).replace(tzinfo=UTC)
        materialization = record.asset_materialization
        if moment not in latest and materialization is not None:
            latest[moment] = bool(materialization.metadata["sent_this_run"].value)
    return latest


def findings_with_evidence(client: OpenSearch, prefix: str, uuids: set[str]) -> dict[str, Any]:
    client.indices.refresh(index=daily_indices(prefix), params={"ignore_unavailable": "true"})
    hits = client.search(
        index=daily_indices(prefix),
        body={"size": 100, "query": {"terms": {"evidence.uuids": sorted(uuids)}}},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )["hits"]["hits"]
    return {
        uuid: hit["_source"]["detection"]["title"]
        for hit in hits
        for uuid in hit["_source"]["evidence"]["uuids"]
        if uuid in uuids
    }


def test_events_two_and_twenty_hours_late_are_landed_loaded_and_detected(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    logs, findings = f"test-late-{tag}", f"test-late-findings-{tag}"
    daily = previous_daily_refetch(datetime.now(UTC))
    # Six windows 30 hours before the daily re-fetch: 26 to 50 hours old when it runs.
    start = daily - timedelta(hours=30, minutes=4)  # 20:40, on a window's start
    end = start + 6 * WINDOW
    late = late_events(start)
    late_uuids = {s.uuid for s in late}
    source = WithExtraEvents(SimulatedOrg(seed=101, events_per_minute=2), late)
    simulated_now = [end + timedelta(minutes=2)]
    zone = LandingZone(tmp_path)
    try:
        with running_simulator(source=source, clock=lambda: simulated_now[0].timestamp()) as (
            app,
            base_url,
        ):
            resources = {
                "okta": OktaResource(base_url=base_url, api_token=TOKEN),
                "landing": LandingZoneResource(root=str(tmp_path)),
                "opensearch": OpenSearchResource(
                    url=opensearch_endpoint.url, index_prefix=logs, findings_prefix=findings
                ),
                "detections": DetectionsResource(),
            }
            automation = Automation(
                build_definitions(DeploymentSettings()),
                ASSETS,
                resources,
                dg.DagsterInstance.ephemeral(),
            )
            automation.tick(simulated_now[0] - timedelta(seconds=30))  # the cursor's start
            # A backfill fetches, loads and detects the six windows two minutes after they close.
            for asset in ASSETS:
                assert automation.run(asset, start, end - WINDOW)
            # The hour's re-fetches and the hourly catch-up, for two hours.
            for minutes in range(30, 121, 30):
                simulated_now[0] = end + timedelta(minutes=minutes)
                automation.tick(simulated_now[0])
            refetched = {
                datetime.strptime(k, PARTITION_FORMAT).replace(tzinfo=UTC)
                for k in automation.requested["okta_system_log"]
            }
            assert {start + n * WINDOW for n in range(6)} <= refetched
            assert not late_uuids & set(landed_uuids(zone, start, end)), "missed by the lookback"
            # The daily re-fetch, a day later.
            simulated_now[0] = daily + timedelta(seconds=30)
            at_daily = automation.tick(simulated_now[0])
            over_budget = app.rate_limiter.rejected
        windows = [(w, w + WINDOW) for w in sorted(landed_windows(tmp_path))]
        outcome = measure(
            "events 2 h and 20 h late, to detection",
            published_uuids(source, windows),
            zone,
            windows,
            opensearch,
            logs,
            over_budget,
        )
        assert outcome.clean, outcome
        assert automation.failed_runs == 0
        assert late_uuids <= set(landed_uuids(zone, start, end))
        assert {
            w.strftime(PARTITION_FORMAT) for w in (start + n * WINDOW for n in range(6))
        } <= at_daily["okta_system_log"]
        # The load sent again only the two windows the late events changed.
        assert sent_again(automation.instance, start, end) == {
            start + WINDOW: True,
            start + 3 * WINDOW: True,
            **{start + n * WINDOW: False for n in (0, 2, 4, 5)},
        }
        found = findings_with_evidence(opensearch, findings, late_uuids)
        assert found == {s.uuid: title for s, title in zip(late, LATE, strict=True)}
    finally:
        drop_prefix(opensearch, logs)
        opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
        opensearch.indices.delete_index_template(name=findings, params={"ignore": 404})
