"""The catalog over whole simulated days on the real node: attacks found, quiet days quiet,
re-runs and backfills converging, and a detection added later backfilled through Dagster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import evaluate
from okta_pipeline.lib.detections.scoring import FoundEvidence, LabelledAttack, score
from okta_pipeline.lib.landing import Event, window_start
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_prefix, ensure_template
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import WINDOW
from okta_pipeline_tests.okta.helpers import range_tags
from okta_pipeline_tests.opensearch.loading_helpers import checks
from okta_pipeline_tests.run_results import window_metadata

CATALOG = load_catalog()
DAY = timedelta(days=1)
EVENTS_PER_MINUTE = 60.0


@dataclass(frozen=True)
class SimulatedDay:
    org: SimulatedOrg
    prefix: str
    start: datetime
    end: datetime

    @property
    def logs(self) -> str:
        return daily_indices(self.prefix)


def load_day(
    opensearch: OpenSearch, org: SimulatedOrg, start: datetime, tmp_path: Path
) -> SimulatedDay:
    """A day of the simulated org, indexed with the project's template and loader."""
    prefix = f"test-day-{uuid.uuid4().hex[:8]}"
    ensure_template(opensearch, prefix)
    end = start + DAY
    by_window: dict[datetime, list[Event]] = {}
    window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    for stored in org.published_between(*window):
        published = datetime.fromtimestamp(stored.published_ms / 1000, UTC)
        by_window.setdefault(window_start(published), []).append(stored.event)
    report = load_windows(
        opensearch, sorted(by_window.items()), prefix, DeadLetters(tmp_path / "dead.jsonl.gz")
    )
    assert report.dead_lettered == 0 and report.failed == 0, report.summary()
    opensearch.indices.refresh(index=f"{prefix}-*")
    return SimulatedDay(org, prefix, start, end)


def a_past_day() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - 3 * DAY


@pytest.fixture(scope="module")
def attack_day(
    opensearch: OpenSearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatedDay]:
    org = SimulatedOrg(seed=23, events_per_minute=EVENTS_PER_MINUTE)
    day = load_day(opensearch, org, a_past_day(), tmp_path_factory.mktemp("attack-day"))
    yield day
    drop_prefix(opensearch, day.prefix)


def test_every_injected_attack_is_found_with_its_events_as_evidence(
    opensearch: OpenSearch, attack_day: SimulatedDay
) -> None:
    evaluation = evaluate(opensearch, attack_day.logs, CATALOG, attack_day.start, attack_day.end)
    incidents = attack_day.org.incidents_between(
        int(attack_day.start.timestamp() * 1000), int(attack_day.end.timestamp() * 1000)
    )
    assert len({i.scenario.name for i in incidents.values()}) == 11
    attacks = [
        LabelledAttack(i.id, i.scenario.name, i.scenario.detected_by, i.uuids)
        for i in incidents.values()
    ]
    results = score(attacks, [FoundEvidence.of(f) for f in evaluation.findings])
    # Found: a finding of the detection meant for the attack cites the attack's own events.
    missed = [r.attack.incident for r in results if not r.found]
    assert not missed, f"attacks not found by the detection meant for them: {missed}"
    print(f"{len(results)} attacks, all found; {len(evaluation.findings)} findings in all")
    # A day's evaluation is a few queries per detection, not one per window.
    assert evaluation.requests < 10 * len(CATALOG)


def test_a_quiet_day_stays_within_the_false_positive_budget(
    opensearch: OpenSearch, tmp_path: Path
) -> None:
    org = SimulatedOrg(seed=29, events_per_minute=EVENTS_PER_MINUTE, scenario_period_minutes=None)
    day = load_day(opensearch, org, a_past_day() - DAY, tmp_path)
    try:
        evaluation = evaluate(opensearch, day.logs, CATALOG, day.start, day.end)
    finally:
        drop_prefix(opensearch, day.prefix)
    counts = evaluation.by_detection()
    print("findings per detection on a quiet day:", dict(sorted(counts.items())) or "none")
    over = {name: n for name, n in counts.items() if n > 1}
    assert not over, f"more than one finding on an attack-free day: {over}"


def run_detections(
    endpoint: OpenSearchSettings,
    day: SimulatedDay,
    findings_prefix: str,
    start: datetime,
    end: datetime,
    detections: DetectionsResource,
) -> dg.ExecuteInProcessResult:
    resources = {
        "opensearch": OpenSearchResource(
            url=endpoint.url,
            username=endpoint.username,
            password=endpoint.password,
            ca_certs=endpoint.ca_certs,
            index_prefix=day.prefix,
            findings_prefix=findings_prefix,
        ),
        "detections": detections,
    }
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if end - start == WINDOW:
        return dg.materialize(
            [okta_detections],
            resources=resources,
            run_config=quiet,
            partition_key=start.strftime(PARTITION_FORMAT),
        )
    return dg.materialize(
        [okta_detections], resources=resources, run_config=quiet, tags=range_tags(start, end)
    )


def finding_ids(opensearch: OpenSearch, prefix: str, detection: str | None = None) -> set[str]:
    opensearch.indices.refresh(index=f"{prefix}-*", params={"ignore_unavailable": "true"})
    query = {"term": {"detection.id": detection}} if detection else {"match_all": {}}
    response = opensearch.search(
        index=f"{prefix}-*",
        body={"size": 10_000, "query": query, "_source": False},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return {hit["_id"] for hit in response["hits"]["hits"]}


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """The findings of the run's windows, summed from each window's own counts."""
    windows = window_metadata(result, "okta_detections").values()
    return {key: sum(w[key] for w in windows) for key in ("findings", "new_findings")}


def test_a_day_twice_and_then_one_window_leave_the_same_findings(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, attack_day: SimulatedDay
) -> None:
    findings = f"test-findings-{uuid.uuid4().hex[:8]}"
    everything = DetectionsResource()
    try:
        first = run_detections(
            opensearch_endpoint, attack_day, findings, attack_day.start, attack_day.end, everything
        )
        after_one = finding_ids(opensearch, findings)
        second = run_detections(
            opensearch_endpoint, attack_day, findings, attack_day.start, attack_day.end, everything
        )
        after_two = finding_ids(opensearch, findings)
        assert after_one == after_two and after_one
        assert materialized(first)["new_findings"] == len(after_one)
        assert materialized(second)["new_findings"] == 0
        found = checks(second)
        assert found["queries_accepted"].passed and found["evidence_in_logs"].passed

        busiest = _busiest_window(opensearch, findings)
        window = run_detections(
            opensearch_endpoint, attack_day, findings, busiest, busiest + WINDOW, everything
        )
        assert finding_ids(opensearch, findings) == after_one
        assert materialized(window)["new_findings"] == 0
        assert int(str(materialized(window)["findings"])) >= 1
    finally:
        opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})


def test_a_detection_added_later_is_backfilled_over_past_windows(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, attack_day: SimulatedDay
) -> None:
    findings = f"test-findings-{uuid.uuid4().hex[:8]}"
    added = "okta_password_spray"
    try:
        before = DetectionsResource(disabled=[added])
        run_detections(
            opensearch_endpoint, attack_day, findings, attack_day.start, attack_day.end, before
        )
        earlier = finding_ids(opensearch, findings)
        assert finding_ids(opensearch, findings, added) == set()

        backfill = run_detections(
            opensearch_endpoint,
            attack_day,
            findings,
            attack_day.start,
            attack_day.end,
            DetectionsResource(only=[added]),
        )
        sprays = finding_ids(opensearch, findings, added)
        assert len(sprays) == 24, "one password spray per hour of the simulated day"
        assert materialized(backfill)["new_findings"] == len(sprays)
        assert finding_ids(opensearch, findings) == earlier | sprays
    finally:
        opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})


def _busiest_window(opensearch: OpenSearch, prefix: str) -> datetime:
    response = opensearch.search(
        index=f"{prefix}-*",
        body={"size": 0, "aggs": {"windows": {"terms": {"field": "window.start", "size": 1}}}},
    )
    (bucket,) = response["aggregations"]["windows"]["buckets"]
    return datetime.fromtimestamp(bucket["key"] / 1000, UTC)
