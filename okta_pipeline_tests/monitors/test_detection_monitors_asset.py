"""The `detection_monitors` asset in Dagster: its counts, its check, and a cluster without
Alerting reported as such (a warning, not a failure and not a silent success)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.defs.detections.monitors import (
    MONITORS_MATCH_CATALOG,
    detection_monitors,
    monitors_match_catalog,
)
from okta_pipeline.defs.detections.resources import DetectionsResource, MonitorsResource
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.http_server import BackgroundHTTPServer, send_json
from okta_pipeline.lib.monitors.compile import pipeline_only_reason
from okta_pipeline.lib.monitors.sync import MonitorSync
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.opensearch.loading_helpers import resource

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
CATALOG = load_catalog().enabled()
EXPRESSIBLE = len([d for d in CATALOG if pipeline_only_reason(d) is None])


def run(
    endpoint: OpenSearchSettings,
    owner: str,
    disabled: list[str] | None = None,
    check_only: bool = False,
) -> dg.ExecuteInProcessResult:
    """Materialize the asset with its check, or run the check alone."""
    check = dg.AssetSelection.checks(monitors_match_catalog)
    selection = check if check_only else dg.AssetSelection.assets(detection_monitors) | check
    definitions = dg.Definitions(
        assets=[detection_monitors],
        asset_checks=[monitors_match_catalog],
        jobs=[dg.define_asset_job("sync", selection=selection)],
        resources={
            "opensearch": resource(endpoint, owner),
            "detections": DetectionsResource(disabled=disabled or []),
            "monitors": MonitorsResource(enabled=False),
        },
    )
    job = definitions.resolve_job_def("sync")
    return job.execute_in_process(run_config=QUIET, raise_on_error=False)


def outcome(
    result: dg.ExecuteInProcessResult,
) -> tuple[dict[str, object], dg.AssetCheckEvaluation]:
    (materialization,) = result.asset_materializations_for_node("detection_monitors")
    metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    return metadata, check_of(result)


def check_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == MONITORS_MATCH_CATALOG
    return check


def test_the_asset_syncs_the_catalog_and_reports_what_it_changed(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, owner: str
) -> None:
    first, check = outcome(run(opensearch_endpoint, owner))
    assert (first["created"], first["updated"], first["deleted"]) == (EXPRESSIBLE, 0, 0)
    assert first["total"] == EXPRESSIBLE and check.passed
    assert first["pipeline_only"] == sorted(d.id for d in CATALOG if pipeline_only_reason(d))

    again, check = outcome(run(opensearch_endpoint, owner))
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert again["unchanged"] == EXPRESSIBLE and check.passed

    disabled = ["okta_password_spray"]
    fewer, check = outcome(run(opensearch_endpoint, owner, disabled))
    assert fewer["deleted"] == 1 and fewer["deleted_ids"] == disabled and check.passed
    assert "okta_password_spray" not in MonitorSync(opensearch, owner).stored()


def test_the_check_alone_finds_monitors_deleted_or_edited_by_hand_and_a_sync_repairs_them(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, owner: str
) -> None:
    run(opensearch_endpoint, owner)
    stored = MonitorSync(opensearch, owner).stored()
    monitors = "/_plugins/_alerting/monitors"
    opensearch.transport.perform_request(
        "DELETE", f"{monitors}/{stored['okta_brute_force_user'].id}", params={"refresh": "true"}
    )
    edited = stored["okta_password_spray"].body
    edited["enabled"] = True
    edited["triggers"][0]["bucket_level_trigger"]["condition"]["script"]["source"] = (
        "params.measure >= 1000"
    )
    opensearch.transport.perform_request(
        "PUT",
        f"{monitors}/{stored['okta_password_spray'].id}",
        body=edited,
        params={"refresh": "true"},
    )

    check = check_of(run(opensearch_endpoint, owner, check_only=True))
    assert not check.passed
    assert "okta_brute_force_user: missing" in str(check.description)
    assert "okta_password_spray: enabled edited by hand, trigger edited by hand" in str(
        check.description
    )

    repaired, check = outcome(run(opensearch_endpoint, owner))
    assert repaired["created_ids"] == ["okta_brute_force_user"]
    assert repaired["updated_ids"] == ["okta_password_spray"]
    assert check.passed


@pytest.fixture
def cluster_without_alerting() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """An OpenSearch endpoint whose plugin list is empty; it records what it is asked."""
    asked: list[tuple[str, str]] = []

    class Cluster(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            asked.append((self.command, self.path))
            found = self.path.startswith("/_cat/plugins")
            send_json(self, 200 if found else 404, [] if found else {"error": "not here"})

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with BackgroundHTTPServer(Cluster) as server:
        yield server.base_url, asked


def test_a_cluster_without_alerting_is_reported_and_skipped(
    cluster_without_alerting: tuple[str, list[tuple[str, str]]],
) -> None:
    url, asked = cluster_without_alerting
    result = run(OpenSearchSettings(url), "okta-logs")
    assert result.success
    metadata, check = outcome(result)
    assert metadata["alerting"] == "not installed" and metadata["synced"] is False
    assert not check.passed and check.severity is dg.AssetCheckSeverity.WARN
    assert "no Alerting plugin" in str(check.description)
    assert all(method == "GET" for method, _ in asked)  # it wrote nothing
