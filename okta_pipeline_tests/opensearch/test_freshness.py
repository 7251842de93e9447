"""Freshness is judged by its own schedule on the newest indexed event, not by loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.freshness import (
    FRESHNESS,
    freshness_job,
    freshness_result,
    freshness_schedule,
    newest_event_freshness,
)
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.okta_simulator.events import format_published
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.opensearch.loading_helpers import resource
from okta_pipeline_tests.stored_events import index_events

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "passed", "severity"),
    [
        (timedelta(minutes=5), True, dg.AssetCheckSeverity.ERROR),
        (timedelta(minutes=30), False, dg.AssetCheckSeverity.WARN),
        (timedelta(hours=3), False, dg.AssetCheckSeverity.ERROR),
        (None, False, dg.AssetCheckSeverity.ERROR),
    ],
)
def test_the_newest_events_age_decides(
    age: timedelta | None, passed: bool, severity: dg.AssetCheckSeverity
) -> None:
    result = freshness_result(NOW - age if age else None, now=NOW)
    assert result.passed is passed
    if not passed:
        assert result.severity is severity
        assert ("stalled" if age else "no event indexed yet") in str(result.description)


def check_now(endpoint: OpenSearchSettings, prefix: str, tmp_path: Path) -> dg.AssetCheckEvaluation:
    """Run the freshness job alone, as its schedule does."""
    definitions = dg.Definitions(
        assets=[opensearch_okta_logs],
        asset_checks=[newest_event_freshness],
        jobs=[freshness_job],
        resources={
            "opensearch": resource(endpoint, prefix),
            "landing": LandingZoneResource(root=str(tmp_path)),
        },
    )
    result = definitions.resolve_job_def(freshness_job.name).execute_in_process()
    assert not result.asset_materializations_for_node("opensearch_okta_logs")  # nothing loaded
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == FRESHNESS
    return evaluation


def test_a_stalled_pipeline_turns_the_check_red_without_any_load(
    opensearch_endpoint: OpenSearchSettings, opensearch: OpenSearch, prefix: str, tmp_path: Path
) -> None:
    def event(uuid: str, published: datetime) -> dict[str, str]:
        millis = int(published.timestamp() * 1000)
        return {"uuid": uuid, "published": format_published(millis), "eventType": "x"}

    now = datetime.now(UTC)
    index_events(opensearch, prefix, [event("old", now - timedelta(hours=2))], tmp_path)
    stalled = check_now(opensearch_endpoint, prefix, tmp_path)
    assert not stalled.passed and stalled.severity is dg.AssetCheckSeverity.ERROR

    index_events(opensearch, prefix, [event("new", now - timedelta(minutes=3))], tmp_path)
    assert check_now(opensearch_endpoint, prefix, tmp_path).passed


def test_the_project_evaluates_freshness_every_five_minutes_on_its_own() -> None:
    defs = build_definitions(DeploymentSettings())
    schedule = defs.resolve_schedule_def(freshness_schedule.name)
    assert schedule.cron_schedule == "*/5 * * * *"
    assert schedule.default_status is dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(freshness_job.name)
    assert job.asset_layer.executable_asset_keys == set()  # no asset is materialized
    # Entered, so the context closes the instance it opens from the ref: left open, that
    # instance stays Dagster's current one after it is gone, and later definitions fail.
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=NOW) as context,
    ):
        requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert len(requests) == 1
