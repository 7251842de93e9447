"""The engine on the real node: recorded Okta events, bursts, window-by-window equivalence, the
CLI's code path, and a query the node refuses."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.cli.main import main
from okta_pipeline.defs.detections.assets import _rejected_queries, okta_detections
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import evaluate
from okta_pipeline.lib.detections.model import Example
from okta_pipeline.lib.landing import window_start
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import ensure_template
from okta_pipeline.lib.windows import WINDOW, windows_between
from okta_pipeline_tests.detections.broken_detection import BROKEN, GOOD, GoodAndBroken, broken_copy
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.okta.helpers import range_tags
from okta_pipeline_tests.run_results import check_results
from okta_pipeline_tests.stored_events import Prefixes, index_events

CATALOG = load_catalog()
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "okta-samples"


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason="the shared okta-samples folder is not beside this checkout"
)
def test_recorded_okta_events_raise_the_findings_they_should(
    opensearch: OpenSearch, prefixes: Prefixes, tmp_path: Path
) -> None:
    """Real events recorded by others: each kind that a detection covers is found, and
    ordinary ones (successful admin-console access, a user added to Sales) are not."""
    events = [json.loads(line) for path in sorted(SAMPLES.glob("*.jsonl")) for line in path.open()]
    index_events(opensearch, prefixes.logs, events, tmp_path)
    times = [datetime.fromisoformat(e["published"].replace("Z", "+00:00")) for e in events]
    start, end = window_start(min(times)), window_start(max(times)) + WINDOW
    evaluation = evaluate(opensearch, prefixes.logs_index, CATALOG, start, end)

    def evidence_of(detection: str) -> set[str]:
        return {
            e.uuid for f in evaluation.findings if f.detection.id == detection for e in f.evidence
        }

    def uuids(event_type: str) -> set[str]:
        # What was stored: the recordings reuse a few uuids, and a uuid is one document a day.
        response = opensearch.search(
            index=prefixes.logs_index,
            body={"size": 1000, "query": {"term": {"eventType": event_type}}, "_source": False},
        )
        return {hit["_id"] for hit in response["hits"]["hits"]}

    assert evidence_of("okta_threatinsight_detection") == uuids("security.threat.detected")
    assert evidence_of("okta_account_lockout") == uuids("user.account.lock")
    assert evidence_of("okta_support_impersonation") == uuids("user.session.impersonation.grant")
    high_risk = {
        e["uuid"]
        for e in events
        if e["eventType"] == "user.session.start" and "HIGH" in json.dumps(e["debugContext"])
    }
    assert high_risk and evidence_of("okta_high_risk_sign_in") == high_risk & uuids(
        "user.session.start"
    )
    assert evidence_of("okta_admin_console_access_denied") == set()
    assert evidence_of("okta_user_added_to_admin_group") == set()
    assert uuids("group.user_membership.add") and uuids("user.session.access_admin_app")


def test_a_long_burst_is_one_finding_and_windows_agree_with_the_range(
    opensearch: OpenSearch, prefixes: Prefixes, tmp_path: Path
) -> None:
    """Ninety failures over half an hour: one brute-force finding, where the burst began, the
    same whether the hour is evaluated at once or window by window."""
    anchor = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    burst = Example(
        "long burst",
        True,
        ({"outcome": {"result": "FAILURE"}, "place": "far", "repeat": 90, "every": "20s"},),
    )
    index_events(opensearch, prefixes.logs, example_events(burst, anchor, "burst"), tmp_path)
    brute_force = [CATALOG.get("okta_brute_force_user")]
    start, end = anchor - timedelta(minutes=15), anchor + timedelta(hours=1)
    whole = evaluate(opensearch, prefixes.logs_index, brute_force, start, end).findings
    assert len(whole) == 1
    (finding,) = whole
    assert finding.window == anchor and finding.count == 15  # every failure of that window
    one_by_one = [
        f
        for moment in windows_between(start, end)
        for f in evaluate(
            opensearch, prefixes.logs_index, brute_force, moment, moment + WINDOW
        ).findings
    ]
    assert [f.id for f in one_by_one] == [finding.id]


def test_detections_run_writes_the_findings_the_asset_would(
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    anchor = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)
    spray = next(d for d in CATALOG if d.id == "okta_password_spray")
    positive = next(e for e in spray.examples if e.expect_finding)
    index_events(opensearch, prefixes.logs, example_events(positive, anchor, "cli"), tmp_path)
    monkeypatch.setenv("OPENSEARCH_URL", opensearch_endpoint.url)
    arguments = [
        "detections",
        "run",
        "--id",
        "okta_password_spray",
        "--start",
        "2026-10-06T08:00Z",
        "--end",
        "2026-10-06T10:00Z",
        "--index-prefix",
        prefixes.logs,
        "--findings-prefix",
        prefixes.findings,
        "--json",
    ]
    assert main(arguments) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["findings"]
    expected = evaluate(
        opensearch,
        prefixes.logs_index,
        [spray],
        anchor - timedelta(hours=1),
        anchor + timedelta(hours=1),
    ).findings
    assert [row["finding_id"]] == [f.id for f in expected]
    assert report["new"] == 1
    opensearch.indices.refresh(index=f"{prefixes.findings}-*")
    stored = opensearch.get(index=f"{prefixes.findings}-2026.10.06", id=row["finding_id"])
    assert stored["_source"]["detection"]["id"] == "okta_password_spray"
    assert main(arguments) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 0, "running again writes nothing new"


def test_a_query_the_node_refuses_is_reported_by_its_detection(
    opensearch: OpenSearch, prefixes: Prefixes
) -> None:
    good = CATALOG.get(GOOD)
    broken = broken_copy(good)
    assert _rejected_queries(opensearch, prefixes.logs_index, (good, broken)) == {}, (
        "without a logs index there is no mapping to validate against"
    )
    ensure_template(opensearch, prefixes.logs)
    opensearch.indices.create(index=f"{prefixes.logs}-2026.10.07")
    rejected = _rejected_queries(opensearch, prefixes.logs_index, (good, broken))
    assert list(rejected) == [BROKEN]
    assert rejected[BROKEN]


def test_a_refused_detection_is_skipped_and_reported_while_the_others_write_findings(
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefixes: Prefixes,
    tmp_path: Path,
) -> None:
    """One refused query neither fails the run nor holds back the other detections: their
    findings are written, and the failed (non-blocking) check names the refused one."""
    anchor = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
    lockout = CATALOG.get(GOOD)
    positive = next(e for e in lockout.examples if e.expect_finding)
    index_events(opensearch, prefixes.logs, example_events(positive, anchor, "refused"), tmp_path)
    opensearch_resource = OpenSearchResource(
        url=opensearch_endpoint.url,
        username=opensearch_endpoint.username,
        password=opensearch_endpoint.password,
        ca_certs=opensearch_endpoint.ca_certs,
        index_prefix=prefixes.logs,
        findings_prefix=prefixes.findings,
    )
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [okta_detections],
            resources={"opensearch": opensearch_resource, "detections": GoodAndBroken()},
            tags=range_tags(anchor - timedelta(minutes=30), anchor + timedelta(minutes=30)),
            instance=instance,
            raise_on_error=False,
        )
        errors = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.level == logging.ERROR
        ]
    assert result.success
    opensearch.indices.refresh(index=f"{prefixes.findings}-*")
    stored = opensearch.search(
        index=f"{prefixes.findings}-*", body={"size": 100, "query": {"match_all": {}}}
    )["hits"]["hits"]
    assert stored and {hit["_source"]["detection"]["id"] for hit in stored} == {lockout.id}
    accepted = check_results(result)["queries_accepted"]
    assert not accepted.passed and accepted.severity == dg.AssetCheckSeverity.ERROR
    assert BROKEN in accepted.description and "Failed to parse" in accepted.description
    assert list(accepted.metadata["rejected"].value) == [BROKEN]
    assert accepted.metadata["evaluated"].value == 1
    assert any(BROKEN in message for message in errors)
