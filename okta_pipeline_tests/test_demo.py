"""`okta-pipeline demo --json`: the whole pipeline over simulated activity, reproducibly."""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.cli.demo_alerts import CONFIGURING_VARIABLES
from okta_pipeline.cli.demo_command import beside_index_prefix
from okta_pipeline.cli.main import main
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.monitors.compile import pipeline_only_reason
from okta_pipeline.lib.monitors.sync import MonitorSync
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline.lib.opensearch.index_setup import drop_managed_prefix, drop_prefix
from okta_pipeline_tests.okta.helpers import recent_window


def run_demo(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["demo", "--json", *args]) == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.fixture
def prefixes(opensearch: OpenSearch, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The demo's own indices, so the suite never mixes its org into a user's demo data, and
    alerts to the local stand-ins whatever the environment configures."""
    for name in CONFIGURING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    tag = uuid.uuid4().hex[:8]
    logs, findings, ledger = f"test-demo-{tag}", f"test-demo-findings-{tag}", f"test-demo-{tag}"
    yield ["--index-prefix", logs, "--findings-prefix", findings, "--ledger-index", ledger]
    MonitorSync(opensearch, logs).sync([])  # the demo's monitors belong to its index prefix
    opensearch.indices.delete(index=ledger, params={"ignore_unavailable": "true"})
    drop_prefix(opensearch, logs)
    opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
    opensearch.indices.delete_index_template(name=findings, params={"ignore": 404})
    for beside in beside_index_prefix(logs):
        drop_managed_prefix(opensearch, beside)


def test_demo_twice_over_a_fixed_window_gives_the_same_counts(
    opensearch_endpoint: OpenSearchSettings,
    opensearch: OpenSearch,
    prefixes: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start, end = recent_window(hours_ago=4, span=timedelta(hours=2))
    window = ["--start", start.isoformat(), "--end", end.isoformat(), "--seed", "7", *prefixes]
    logs = prefixes[1]
    truth_file = tmp_path / "truth.jsonl"
    first = run_demo(
        capsys,
        *window,
        "--landing",
        str(tmp_path / "a"),
        "--truth-out",
        str(truth_file),
        "--sinks",
    )
    second = run_demo(capsys, *window, "--landing", str(tmp_path / "a"), "--sinks")
    elsewhere = run_demo(capsys, *window, "--landing", str(tmp_path / "b"))

    for summary in (first, second, elsewhere):
        okta, landing = summary["okta"], summary["landing"]
        assert isinstance(okta, dict) and isinstance(landing, dict)
        assert okta["events"] == landing["events"] == first["okta"]["events"]  # type: ignore[index]
        assert okta["rate_limited"] == 0
        assert summary["truth"] == first["truth"]
        assert summary["window"] == {
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "partitions": 24,
        }
        assert summary["opensearch"]["url"] == opensearch_endpoint.url  # type: ignore[index]
    assert second["landing"]["new_events"] == 0  # type: ignore[index]
    # The sinks: CloudTrail Lake took every landed event once; OpenObserve those inside its
    # 5-hour ingest horizon (the range starts 6 hours ago), the others not sent; and the
    # second run, whose windows each sink had shipped, sent nothing.
    sinks = first["sinks"]
    assert isinstance(sinks, dict) and "sinks" not in elsewhere
    events = first["landing"]["events"]  # type: ignore[index]
    lake, openobserve = sinks["cloudtrail_lake"], sinks["openobserve"]
    assert lake["accepted"] == lake["stored_by_id"] == lake["sent"] == events
    assert lake["stored_twice"] == openobserve["stored_twice"] == 0
    assert openobserve["accepted"] == openobserve["stored_by_id"] > 0
    assert openobserve["accepted"] + openobserve["failed"] == events
    again = second["sinks"]
    assert isinstance(again, dict)
    assert again["cloudtrail_lake"]["sent"] == again["cloudtrail_lake"]["stored_by_id"] == 0
    assert again["openobserve"]["accepted"] == 0
    for summary in (first, second):
        search = summary["opensearch"]
        assert isinstance(search, dict)
        assert search["docs"] == summary["landing"]["events"]  # type: ignore[index]
        days = {f"{logs}-{start:%Y.%m.%d}", f"{logs}-{end - timedelta(minutes=5):%Y.%m.%d}"}
        assert search["indices"] == sorted(days)  # the window's days, no other index
    assert first["opensearch"]["docs"] == second["opensearch"]["docs"]  # type: ignore[index]
    assert second["opensearch"]["indexed"] == 0  # type: ignore[index]
    truth = first["truth"]
    assert isinstance(truth, dict) and truth["brute_force"] > 0 and truth["password_spray"] > 0

    # CloudTrail beside Okta: every record read from the trail's log files was indexed, the
    # same on every run, and its AWS SAML sessions were linked to Okta (but the forged ones).
    for summary in (first, second, elsewhere):
        trail = summary["cloudtrail"]
        assert isinstance(trail, dict) and trail["objects"] > 0 and trail["malformed_objects"] == 0
        assert trail["events"] == trail["documents"] == first["cloudtrail"]["events"]  # type: ignore[index]
    links = first["identity_links"]
    assert isinstance(links, dict) and links["linked"] > 0
    assert links["linked"] + links["not_linked"] == links["sessions"]
    cross_source = {d.id for d in load_catalog() if d.cross_source}
    correlation = first["correlation_findings"]
    assert isinstance(correlation, dict) and set(correlation) == cross_source

    # The detections ran over the same windows: every complete injected attack was found by
    # the detection meant for it, and a second run found the same findings, none new.
    assert first["detections"] == len(load_catalog())
    attacks = first["attacks"]
    assert isinstance(attacks, list) and len(attacks) >= 15
    assert [a["incident"] for a in attacks if not a["found"]] == []
    assert {a["scenario"] for a in attacks} >= {
        "brute_force",
        "password_spray",
        "admin_group_add",
        "risky_sign_in_then_aws_persistence",
        "aws_activity_after_okta_suspension",
        "aws_saml_without_okta_sso",
        "aws_console_login_bypassing_okta",
    }
    assert second["findings"] == first["findings"] and second["new_findings"] == 0
    findings = first["findings"]
    assert isinstance(findings, dict)
    for attack in attacks:
        assert findings[attack["detection"]] >= 1
    # Each cross-source attack's finding cites its evidence on both sides, where both exist.
    starts_in_okta = {"risky_sign_in_then_aws_persistence", "aws_activity_after_okta_suspension"}
    cited = [a for a in attacks if a["detection"] in cross_source]
    assert {a["scenario"] for a in cited} >= starts_in_okta
    for attack in cited:
        found = opensearch.search(
            index=f"{prefixes[3]}-*",
            body={"query": {"ids": {"values": attack["finding_ids"]}}},
        )["hits"]["hits"]
        evidence = [hit["_source"]["evidence"] for hit in found]
        assert all(e["cloudtrail"]["event_ids"] for e in evidence), attack["incident"]
        if attack["scenario"] in starts_in_okta:
            assert all(e["uuids"] for e in evidence), attack["incident"]
    labelled = [json.loads(line) for line in truth_file.read_text().splitlines()]
    assert sum(truth.values()) == len(labelled)
    assert {row["scenario"] for row in labelled} == set(truth)
    assert all(row["uuid"] and row["incident"].startswith(row["scenario"]) for row in labelled)

    # The log stream pushed the range's last minutes before polling fetched them: every pushed
    # event was polled too, the seeded stream dropped and doubled the same events each run,
    # and every attack played live was found by push, its finding before its alert.
    for summary in (first, second, elsewhere):
        push = summary["push"]
        assert isinstance(push, dict)
        assert push["streamed_from"] == (end - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert push["by_both"] == push["events"] > 0
        for key in ("events", "duplicates", "late", "not_pushed"):
            assert push[key] == first["push"][key]  # type: ignore[index]
        # the stream is best effort: an attack it dropped whole is polling's to find
        assert push["live_attacks_missed"] == [] and push["live_attacks"] >= 3
        assert len(push["live_attacks_dropped"]) < push["live_attacks"]
        detect, alert = push["time_to_detect_seconds"], push["time_to_alert_seconds"]
        assert 0 < detect["p50"] <= detect["p95"] <= alert["p95"]
    streamed = datetime.fromisoformat(first["push"]["streamed_from"])  # type: ignore[index]
    landed_streamed = sum(1 for _ in LandingZone(tmp_path / "a").iter_window_events(streamed, end))
    assert first["push"]["events"] + first["push"]["not_pushed"] == landed_streamed  # type: ignore[index]

    # Alerts went to the stand-ins once: the second run, with fresh stand-ins, sent nothing.
    alerts = first["alerts"]
    assert isinstance(alerts, dict) and alerts["pending"] == 0
    assert alerts["jira_created"] >= 1 and alerts["slack_sent"] >= alerts["jira_created"]
    assert "stand-ins" in str(first["alert_destinations"])
    for again in (second, elsewhere):
        assert again["alerts"] == {
            "jira_created": 0,
            "jira_commented": 0,
            "slack_sent": 0,
            "pending": 0,
        }

    # The first run created a monitor per expressible detection; the others changed none.
    expressible = sum(1 for d in load_catalog().enabled() if pipeline_only_reason(d) is None)
    assert first["monitors"] == {
        "alerting": True,
        "created": expressible,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "total": expressible,
        "pipeline_only": len(load_catalog().enabled()) - expressible,
    }
    for again in (second, elsewhere):
        monitors = again["monitors"]
        assert isinstance(monitors, dict)
        assert (monitors["created"], monitors["updated"], monitors["deleted"]) == (0, 0, 0)
        assert monitors["unchanged"] == monitors["total"] == expressible
    assert len(MonitorSync(opensearch, logs).stored()) == expressible


def test_demo_rejects_an_unaligned_window(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--start", "2026-11-20T10:03:00Z"])
    assert "not on a 5-minute boundary" in capsys.readouterr().err


def test_the_demos_credentials_are_never_stored_by_dagster(
    prefixes: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The simulator's, Jira's and Slack's tokens reach the resources as EnvVars: nothing in
    the instance's storage (run config, job snapshots, event logs) holds their values."""
    made: list[str] = []

    def token(size: int) -> str:
        made.append(f"demo-credential-{len(made)}-{'x' * size}")
        return made[-1]

    monkeypatch.setattr(secrets, "token_urlsafe", token)
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    start, end = recent_window(hours_ago=4, span=timedelta(minutes=30))
    summary = run_demo(
        capsys,
        *["--start", start.isoformat(), "--end", end.isoformat(), *prefixes],
        *["--landing", str(tmp_path / "landing")],
    )
    assert summary["okta"]["events"] > 0 and len(made) >= 3  # type: ignore[index]
    with dg.DagsterInstance.get() as instance:
        stored = ""
        for run in instance.get_runs():
            snapshot = instance.get_job_snapshot(str(run.job_snapshot_id))
            stored += dg.serialize_value(snapshot) + json.dumps(run.run_config, default=str)
            stored += "".join(str(e.dagster_event) for e in instance.all_logs(run.run_id))
    jobs = sorted({run.job_name for run in instance.get_runs()})
    # the pipeline, the monitor sync and the drains of the attacks played live
    assert jobs == ["okta_aws_pipeline", "okta_log_stream_drain", "sync_detection_monitors"]
    assert "demo-credential-" not in stored
    assert "OKTA_PIPELINE_DEMO_OKTA_TOKEN" in stored  # the EnvVar, by name
    assert not any(name.startswith("OKTA_PIPELINE_DEMO_") for name in os.environ)
