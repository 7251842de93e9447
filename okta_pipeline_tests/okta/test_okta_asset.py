"""`okta_system_log` through Dagster against the simulator over a real socket."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.okta.assets import okta_system_log, refuse_beyond_retention
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.defs.window_results import run_totals
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import PersistenceDelay, SimulatedOrg, StoredEvent
from okta_pipeline_tests.okta.helpers import (
    PARTITION_FORMAT,
    TOKEN,
    WithExtraEvents,
    range_tags,
    recent_window,
    running_simulator,
)
from okta_pipeline_tests.run_results import window_metadata

ORG = SimulatedOrg(seed=31, events_per_minute=50)


def materialize(
    base_url: str,
    root: Path,
    start: datetime,
    end: datetime,
    token: str = TOKEN,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    resources: dict[str, Any] = {
        "okta": OktaResource(
            base_url=base_url, api_token=token, backoff_seconds=0.01, max_attempts=2
        ),
        "landing": LandingZoneResource(root=str(root)),
    }
    if end - start == WINDOW:
        return dg.materialize(
            [okta_system_log],
            resources=resources,
            partition_key=start.strftime(PARTITION_FORMAT),
            raise_on_error=False,
            instance=instance,
        )
    return dg.materialize(
        [okta_system_log],
        resources=resources,
        tags=range_tags(start, end),
        raise_on_error=False,
        instance=instance,
    )


def source_uuids(
    org: SimulatedOrg, start: datetime, end: datetime, now: float | None = None
) -> set[str]:
    window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    limit = math.inf if now is None else now * 1000
    return {s.uuid for s in org.published_between(*window) if s.persisted_ms <= limit}


def landed_uuids(root: Path, start: datetime, end: datetime) -> list[str]:
    return [e["uuid"] for e in LandingZone(root).iter_window_events(start, end)]


def test_a_range_run_lands_every_window_with_one_bounded_fetch(tmp_path: Path) -> None:
    start, end = recent_window(span=timedelta(hours=2))
    instance = dg.DagsterInstance.ephemeral()
    with running_simulator(source=ORG) as (app, base_url):
        result = materialize(base_url, tmp_path, start, end, instance=instance)
    assert result.success
    expected = source_uuids(ORG, start, end)
    landed = landed_uuids(tmp_path, start, end)
    assert len(landed) == len(set(landed)) == len(expected) and set(landed) == expected

    totals = run_totals(instance, result.run_id)
    assert int(totals["okta_requests"]) == math.ceil(len(expected) / 1000) == app.stats.log_requests
    assert int(totals["okta_events_fetched"]) == len(expected)
    # Each window's materialization carries that window's own counts.
    windows = window_metadata(result, "okta_system_log")
    assert set(windows) == {(start + i * WINDOW).strftime(PARTITION_FORMAT) for i in range(24)}
    assert sum(w["dagster/partition_row_count"] for w in windows.values()) == len(expected)
    for key, window in windows.items():
        moment = datetime.strptime(key, PARTITION_FORMAT).replace(tzinfo=UTC)
        landed_here = len(LandingZone(tmp_path).read_window(moment))
        assert window["dagster/partition_row_count"] == window["new_events"] == landed_here
        assert window["landed_file"] == str(tmp_path / LandingZone(tmp_path).window_key(moment))
    assert len({w["dagster/partition_row_count"] for w in windows.values()}) > 1


def test_single_window_runs_and_a_range_run_land_identical_files(tmp_path: Path) -> None:
    start, end = recent_window(span=timedelta(minutes=20))
    with running_simulator(source=ORG) as (_, base_url):
        assert materialize(base_url, tmp_path / "range", start, end).success
        moment = start
        while moment < end:
            assert materialize(base_url, tmp_path / "windows", moment, moment + WINDOW).success
            moment += WINDOW
    files = {
        p.relative_to(tmp_path / "range"): p.read_bytes()
        for p in (tmp_path / "range").rglob("*.gz")
    }
    assert len(files) == 4
    assert files == {
        p.relative_to(tmp_path / "windows"): p.read_bytes()
        for p in (tmp_path / "windows").rglob("*.gz")
    }


def test_late_events_are_landed_by_the_lookback_refetch(tmp_path: Path) -> None:
    org = SimulatedOrg(
        seed=41,
        events_per_minute=120,
        delay=PersistenceDelay(fast_max_ms=300, late_fraction=0.2, late_max_ms=8 * 60_000),
    )
    start, end = recent_window(span=WINDOW)
    # The automation asks for the window again at the first re-fetch tick (minutes 4, 19, 34
    # and 49) more than ten minutes after it closed.
    tick = end + timedelta(minutes=11)
    while tick.minute % 15 != 4:
        tick += timedelta(minutes=1)
    defs = build_definitions(DeploymentSettings())
    with dg.instance_for_test() as instance:
        before = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=tick - timedelta(minutes=1)
        )
        at_tick = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=before.cursor, evaluation_time=tick
        )
        requested = set(at_tick.get_requested_partitions(dg.AssetKey("okta_system_log")))
    assert start.strftime(PARTITION_FORMAT) in requested
    simulated_now = [end.timestamp() + 60]  # first fetch: one minute after the window closed
    instance = dg.DagsterInstance.ephemeral()
    with running_simulator(source=org, clock=lambda: simulated_now[0]) as (_, base_url):
        first = materialize(base_url, tmp_path, start, end)
        after_first = landed_uuids(tmp_path, start, end)
        simulated_now[0] = tick.timestamp()  # the re-fetch the automation asked for
        second = materialize(base_url, tmp_path, start, end, instance=instance)
    assert first.success and second.success
    everything = source_uuids(org, start, end)
    assert set(after_first) == source_uuids(org, start, end, now=end.timestamp() + 60)
    assert len(after_first) < len(everything), "some events were persisted late"
    assert sorted(landed_uuids(tmp_path, start, end)) == sorted(everything)
    new = int(run_totals(instance, second.run_id)["okta_events_new"])
    assert new == len(everything) - len(after_first)
    (window,) = window_metadata(second, "okta_system_log").values()
    assert window["new_events"] == new and window["dagster/partition_row_count"] == len(everything)


def test_events_a_day_late_are_landed_by_the_daily_refetch(tmp_path: Path) -> None:
    """Events persisted 2 and 20 hours late: the first fetch and the hour's re-fetch miss them,
    the daily re-fetch of windows 26 to 50 hours old lands every one."""
    org = SimulatedOrg(
        seed=43,
        events_per_minute=120,
        delay=PersistenceDelay(fast_max_ms=300, late_fraction=0.2, late_max_ms=20 * 3_600_000),
    )
    start, end = recent_window(hours_ago=30, span=WINDOW)
    fetched_at = [end.timestamp() + 2 * 60, end.timestamp() + 45 * 60, end.timestamp() + 27 * 3600]
    simulated_now = [fetched_at[0]]
    runs = []
    instance = dg.DagsterInstance.ephemeral()
    with running_simulator(source=org, clock=lambda: simulated_now[0]) as (_, base_url):
        for moment in fetched_at:  # settle delay, the hour's re-fetch, the daily re-fetch
            simulated_now[0] = moment
            runs.append(materialize(base_url, tmp_path, start, end, instance=instance))
            if moment != fetched_at[-1]:
                missed = source_uuids(org, start, end) - set(landed_uuids(tmp_path, start, end))
    assert all(run.success for run in runs)
    everything = source_uuids(org, start, end)
    assert len(missed) > 10, "events more than 45 minutes late exist and were not yet landed"
    assert sorted(landed_uuids(tmp_path, start, end)) == sorted(everything)
    daily = run_totals(instance, runs[-1].run_id)
    assert int(daily["okta_events_new"]) == len(missed)
    assert int(daily["okta_requests"]) == math.ceil(len(everything) / 1000)  # a page per 1,000


def test_secrets_never_reach_run_events_or_errors(tmp_path: Path) -> None:
    secret = "ssws-secret-value-that-must-not-leak"
    start, end = recent_window(span=WINDOW)
    with running_simulator(SimulatorOptions(api_tokens=frozenset({secret}))) as (_, base_url):
        good = materialize(base_url, tmp_path, start, end, token=secret)
        bad = materialize(base_url, tmp_path, start, end, token=secret + "-wrong")
    assert good.success and not bad.success
    failure = bad.failure_data_for_node("okta_system_log")
    assert failure is not None and "401 E0000011" in str(failure.error)
    for result in (good, bad):
        for event in result.all_events:
            assert secret not in str(event)


def test_missing_credentials_fail_with_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_BASE_URL", "https://example.okta.com")  # the deployment's org
    start, _ = recent_window(span=WINDOW)
    result = dg.materialize(
        [okta_system_log],
        resources={
            "okta": OktaResource(base_url="https://example.okta.com"),
            "landing": LandingZoneResource(root=str(tmp_path)),
        },
        partition_key=start.strftime(PARTITION_FORMAT),
        raise_on_error=False,
    )
    failure = result.failure_data_for_node("okta_system_log")
    assert failure is not None and "OKTA_API_TOKEN" in str(failure.error)


@pytest.mark.parametrize(
    ("evaluated_at", "expected"),
    [
        # Settle delay: the window [10:00, 10:05) is requested at 10:07, not before.
        (datetime(2026, 11, 20, 10, 6, 30, tzinfo=UTC), set()),
        (datetime(2026, 11, 20, 10, 7, 30, tzinfo=UTC), {"2026-11-20-10:00"}),
        # Catch-up: at 10:09 every window of the last day that was never fetched.
        (
            datetime(2026, 11, 20, 10, 9, 30, tzinfo=UTC),
            {
                (datetime(2026, 11, 20, 10, 0, tzinfo=UTC) - i * WINDOW).strftime(PARTITION_FORMAT)
                for i in range(288)
            },
        ),
        # Daily re-fetch: at 02:44 the windows between 50 and 26 hours old (its cron minute is
        # none of the others').
        (
            datetime(2026, 11, 22, 2, 44, 30, tzinfo=UTC),
            {
                (datetime(2026, 11, 20, 0, 40, tzinfo=UTC) + i * WINDOW).strftime(PARTITION_FORMAT)
                for i in range(288)
            },
        ),
        # Lookback: at 10:19 every window of the last hour is requested again.
        (
            datetime(2026, 11, 20, 10, 19, 30, tzinfo=UTC),
            {
                (datetime(2026, 11, 20, 9, 15, tzinfo=UTC) + i * WINDOW).strftime(PARTITION_FORMAT)
                for i in range(12)
            },
        ),
    ],
)
def test_automation_fetches_after_the_settle_delay_and_refetches_recent_windows(
    evaluated_at: datetime, expected: set[str]
) -> None:
    defs = build_definitions(DeploymentSettings())  # the project's assembled definitions

    with dg.instance_for_test() as instance:
        start = evaluated_at - timedelta(minutes=1)
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=start
        )
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=evaluated_at, cursor=first.cursor
        )
        requested = set(result.get_requested_partitions(dg.AssetKey("okta_system_log")))
    assert requested == expected


def test_each_fetch_is_followed_by_a_load_of_the_same_window(tmp_path: Path) -> None:
    defs = build_definitions(DeploymentSettings())

    fetched = "2026-11-20-10:00"
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=datetime(2026, 11, 20, 10, 8, tzinfo=UTC)
        )
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="okta_system_log", partition=fetched)
        )
        result = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=first.cursor,
            evaluation_time=datetime(2026, 11, 20, 10, 8, 30, tzinfo=UTC),
        )
        requested = set(result.get_requested_partitions(dg.AssetKey("opensearch_okta_logs")))
    assert requested == {fetched}


def test_windows_older_than_oktas_retention_fail_clearly_and_land_nothing(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    start = (now - timedelta(days=100)).replace(hour=10, minute=0, second=0, microsecond=0)
    with running_simulator(source=ORG) as (app, base_url):
        result = materialize(base_url, tmp_path, start, start + 2 * WINDOW)
    assert not result.success and app.stats.log_requests == 0
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = str(failure.step_failure_data.error)
    assert "older than Okta's System Log retention (90 days)" in message
    oldest = datetime.strptime(message.split("Backfill from ")[1][:16], PARTITION_FORMAT)
    assert timedelta(days=89) < now.replace(tzinfo=None) - oldest <= timedelta(days=90)
    assert not list(tmp_path.rglob("*.jsonl.gz"))  # no empty window passed off as quiet


def test_the_retention_horizon_refuses_only_what_okta_no_longer_has() -> None:
    now = datetime(2026, 12, 1, 12, 2, tzinfo=UTC)
    refuse_beyond_retention(now - timedelta(days=90), now, now)  # just within: fetched
    with pytest.raises(dg.Failure, match="Backfill from 2026-09-02-12:05 on"):
        refuse_beyond_retention(now - timedelta(days=90, minutes=5), now, now)


def test_an_event_without_a_parseable_published_is_kept_aside_and_reported(
    tmp_path: Path,
) -> None:
    start, end = recent_window(span=2 * WINDOW)
    org = SimulatedOrg(seed=47, events_per_minute=30)
    published_ms = int(start.timestamp() * 1000) + 1_000
    broken = {"uuid": "unplaceable-1", "published": "yesterday", "eventType": "user.session.start"}
    source = WithExtraEvents(
        org, [StoredEvent(published_ms, "unplaceable-1", published_ms, broken)]
    )
    instance = dg.DagsterInstance.ephemeral()
    with running_simulator(source=source) as (_, base_url):
        result = materialize(base_url, tmp_path, start, end, instance=instance)
    assert result.success
    assert run_totals(instance, result.run_id)["okta_unplaceable_events"] == "1"
    assert set(landed_uuids(tmp_path, start, end)) == source_uuids(org, start, end)
    (kept,) = (tmp_path / "okta_system_log" / "_unplaceable").glob("*.jsonl.gz")
    with gzip.open(kept, "rt", encoding="utf-8") as lines:
        assert [json.loads(line) for line in lines] == [broken]
