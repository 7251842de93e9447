"""Time to detect: from an attack event's `published` to its finding being searchable and its
alert delivered, through the Dagster daemon (`dagster-daemon run`, as `make ui` runs it).

A simulated org streams its log to a local EventBridge bus and SQS queue. The daemon loads two
code locations (`bench/ttd_definitions.py`): `push`, where the queue's sensor launches the
drain job, and, in the full run, `poll`, where the automation fetches each window two minutes
after it closes and the load, the detections and the alerts follow. Attacks (single-event
admin actions) are published on the wall clock; each side's findings index is searched and
its Slack stand-in watched until every attack is found and alerted. Both runs time both sides
(the quick one with fewer attacks, waiting for their window to close and settle, 2.5 to 7.5
minutes); the full run ends by deactivating the stream and timing its alert, by polling.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch, TransportError

from bench.measure import table
from bench.ttd_definitions import SLACK_CHANNEL
from okta_pipeline.cli.demo_push import quantiles
from okta_pipeline.cli.local_log_stream import local_log_stream, streaming_live
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.log_stream import ExtendableSource, LogStreamer
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.index_setup import drop_prefix
from okta_pipeline.lib.standins.slack import SlackStandIn

PROJECT = Path(__file__).resolve().parents[1]
ATTACKS = ("admin_role_granted", "admin_group_add", "api_token_created")
GOALS = {
    "push_finding_p95": 60.0,
    "push_alert_p95": 90.0,
    "poll_finding_p95": 480.0,
    "stream_deactivated_alert": 600.0,
}
DEACTIVATED = "log_stream_deactivated"
LIFECYCLE_DEACTIVATE = "system.log_stream.lifecycle.deactivate"
WARM_UP_SECONDS = 240.0  # the daemon loads both code locations and launches a first drain
POLL_PATIENCE_SECONDS = 15 * 60.0
DRAIN_JOB = "okta_log_stream_drain"


@dataclass
class Attack:
    scenario: str
    detection: str
    published: float
    """Its last event's `published`, in seconds since the epoch."""
    uuids: set[str]
    sides: tuple[str, ...]
    """The sides that should find it."""
    found: dict[str, float] = field(default_factory=dict)
    """Side (push, poll) -> when its finding was first searchable there."""
    dropped_from: list[str] = field(default_factory=list)
    """The sides that never received any of its events (so were not meant to find it)."""
    finding_ids: dict[str, set[str]] = field(default_factory=dict)
    alerted: dict[str, float] = field(default_factory=dict)


@dataclass
class Side:
    name: str
    prefix: str
    slack: SlackStandIn
    dropped: set[str] = field(default_factory=set)
    """Uuids its ingestion never received (the best-effort stream's drops, for push)."""
    seen_messages: int = 0
    posted_at: dict[str, float] = field(default_factory=dict)
    """Finding id -> when its Slack message was first seen."""


def run(client: OpenSearch, opensearch_url: str, quick: bool, root: Path) -> dict[str, Any]:
    count, spacing = (6, 8.0) if quick else (12, 25.0)
    names = ("push", "poll")
    tag = secrets.token_hex(4)
    slack_token = secrets.token_urlsafe(16)
    okta_token = secrets.token_urlsafe(24)
    options = SimulatorOptions(seed=71, events_per_minute=60, api_tokens=frozenset({okta_token}))
    org = SimulatedOrg(
        seed=71, events_per_minute=60, delay=options.persistence, scenario_period_minutes=None
    )
    source = ExtendableSource(org)
    app = build_app(options, source=source)
    with ExitStack() as stack:
        server = stack.enter_context(SimulatorServer(app))
        stream = stack.enter_context(local_log_stream(source, 71, f"okta-bench-ttd-{tag}"))
        app.log_streams = stream.streamer
        stack.enter_context(streaming_live(stream))
        sides = [
            Side(
                name,
                f"bench-ttd-{name}-{tag}",
                stack.enter_context(SlackStandIn(slack_token, SLACK_CHANNEL)),
                stream.streamer.stats.dropped_uuids if name == "push" else set(),
            )
            for name in names
        ]
        stack.callback(_drop, client, [side.prefix for side in sides])
        env = {
            **os.environ,
            **stream.environment(),
            "OPENSEARCH_URL": opensearch_url,
            "OKTA_BASE_URL": server.base_url,
            "OKTA_API_TOKEN": okta_token,
            "OKTA_BENCH_SLACK_TOKEN": slack_token,
        }
        for side in sides:
            upper = side.name.upper()
            env[f"OKTA_BENCH_{upper}_INDEX_PREFIX"] = side.prefix
            env[f"OKTA_BENCH_{upper}_LANDING"] = str(root / f"ttd-{side.name}-landing")
            env[f"OKTA_BENCH_{upper}_SLACK_URL"] = side.slack.base_url
        home = root / "ttd-dagster-home"
        daemon = stack.enter_context(running_daemon(home, names, env, root / "ttd-daemon.log"))
        warm = _warm_up(home, daemon, root / "ttd-daemon.log")
        attacks = _play(org, source, count, spacing, client, sides)
        if not quick:
            attacks.append(_deactivate(stream.streamer, source))
        _watch(attacks, client, sides, deadline=time.monotonic() + POLL_PATIENCE_SECONDS)
        runs = _drain_runs(home)
    result: dict[str, Any] = {
        "attacks": len(attacks),
        "warm_up_seconds": round(warm, 1),
        "drain_runs": runs,
        "goals": GOALS,
    }
    for name in names:
        result["push" if name == "push" else "polling"] = _side_result(attacks, name)
    result["stream_deactivated"] = _deactivation_result(attacks)
    for key in ("push", "polling"):
        side = result[key]
        if side["not_found"] or side["not_alerted"]:
            raise RuntimeError(
                f"through the daemon, {key} did not find {side['not_found']} or did not alert "
                f"{side['not_alerted']} within {POLL_PATIENCE_SECONDS / 60:.0f} minutes of the "
                "last attack"
            )
    return result


@contextmanager
def running_daemon(
    home: Path, locations: tuple[str, ...], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-daemon run` on an instance of its own (the project's dagster.yaml) with the
    benchmark's code locations, stopped (SIGTERM to its session, then SIGKILL) at the end."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)):
        pass  # its storage is created here, not by the daemon and this process at once
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        + "".join(
            f"  - python_module:\n      module_name: bench.ttd_definitions\n"
            f"      attribute: {name}\n      working_directory: {PROJECT}\n"
            f"      location_name: bench_{name}\n"
            for name in locations
        )
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(workspace)],
            cwd=PROJECT,
            env={**env, "DAGSTER_HOME": str(home)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _warm_up(home: Path, daemon: subprocess.Popen[bytes], log: Path) -> float:
    """Wait for the first drain run the sensor launched to succeed: the daemon is up."""
    started = time.monotonic()
    while time.monotonic() - started < WARM_UP_SECONDS:
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited ({daemon.returncode}); see {log}")
        if _drain_runs(home)["succeeded"]:
            return time.monotonic() - started
        time.sleep(1)
    raise RuntimeError(
        f"no drain run succeeded within {WARM_UP_SECONDS:.0f} s of starting dagster-daemon; "
        f"its output is in {log}"
    )


def _drain_runs(home: Path) -> dict[str, int]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(dg.RunsFilter(job_name=DRAIN_JOB))
    statuses = [r.dagster_run.status for r in records]
    return {
        "launched": len(statuses),
        "succeeded": statuses.count(dg.DagsterRunStatus.SUCCESS),
        "failed": statuses.count(dg.DagsterRunStatus.FAILURE),
    }


def _play(
    org: SimulatedOrg,
    source: ExtendableSource,
    count: int,
    spacing: float,
    client: OpenSearch,
    sides: list[Side],
) -> list[Attack]:
    """Publish `count` attacks `spacing` seconds apart, watching for findings in between."""
    by_name = {s.name: s for s in SCENARIOS}
    attacks: list[Attack] = []
    for n in range(count):
        scenario = by_name[ATTACKS[n % len(ATTACKS)]]
        now_ms = int(time.time() * 1000)
        rng = random.Random(f"ttd:{n}:{now_ms}")  # noqa: S311 - not a secret
        events = scenario.build(rng, org.directory, now_ms)
        last = source.publish(events, now_ms, 200) / 1000
        uuids = {e["uuid"] for e in events}
        attacks.append(
            Attack(scenario.name, scenario.detected_by, last, uuids, tuple(s.name for s in sides))
        )
        _watch(attacks, client, sides, deadline=time.monotonic() + spacing)
    return attacks


def _watch(attacks: list[Attack], client: OpenSearch, sides: list[Side], deadline: float) -> None:
    """Search each side's findings and read its Slack stand-in until every attack is found
    and alerted on each side meant to find it, or the deadline."""
    while True:
        for side in sides:
            for attack in attacks:
                if side.name in attack.sides and attack.uuids <= side.dropped:
                    attack.sides = tuple(n for n in attack.sides if n != side.name)
                    attack.dropped_from.append(side.name)
            _observe(side, attacks, client)
        done = all(len(a.alerted) == len(a.sides) for a in attacks)
        if done or time.monotonic() >= deadline:
            return
        time.sleep(0.25)


def _observe(side: Side, attacks: list[Attack], client: OpenSearch) -> None:
    now = time.time()
    messages = side.slack.messages
    for posted in messages[side.seen_messages :]:
        payload = posted.metadata.get("event_payload", {})
        for finding_id in [payload.get("finding_id"), *payload.get("also", [])]:
            if finding_id:
                side.posted_at.setdefault(finding_id, now)
    side.seen_messages = len(messages)
    pending = [a for a in attacks if side.name in a.sides and side.name not in a.found]
    if pending:
        hits = _findings_of(client, side, pending)
        for attack in pending:
            ids = {
                h["_source"]["finding_id"]
                for h in hits
                if h["_source"]["detection"]["id"] == attack.detection
                and attack.uuids & set(h["_source"]["evidence"]["uuids"])
            }
            if ids:
                attack.found[side.name] = now
                attack.finding_ids[side.name] = ids
    for attack in attacks:
        ids = attack.finding_ids.get(side.name, set())
        times = [side.posted_at[i] for i in ids if i in side.posted_at]
        if times and side.name not in attack.alerted:
            attack.alerted[side.name] = min(times)


def _side_result(attacks: list[Attack], side: str) -> dict[str, Any]:
    dropped = sum(1 for a in attacks if side in a.dropped_from)
    attacks = [a for a in attacks if side in a.sides and a.scenario != DEACTIVATED]
    found = [a.found[side] - a.published for a in attacks if side in a.found]
    alerted = [a.alerted[side] - a.published for a in attacks if side in a.alerted]
    to_finding, to_alert = quantiles(found), quantiles(alerted)
    return {
        **to_finding,
        "alert_p50": to_alert["p50"],
        "alert_p95": to_alert["p95"],
        "not_found": [a.scenario for a in attacks if side not in a.found],
        "not_alerted": [a.scenario for a in attacks if side not in a.alerted],
        "dropped_by_stream": dropped,
    }


def _deactivate(streamer: LogStreamer, source: ExtendableSource) -> Attack:
    """Deactivate the stream as an administrator would: its lifecycle event reaches the
    pipeline by polling alone (push has just stopped), as after two failed deliveries."""
    before = int(time.time() * 1000)
    for resource in streamer.all(""):
        streamer.set_status(resource["id"], active=False, base_url="")
    logged = [
        s
        for s in source.published_between(before - 1_000, int(time.time() * 1000) + 1_000)
        if s.event.get("eventType") == LIFECYCLE_DEACTIVATE
    ]
    return Attack(
        DEACTIVATED,
        "okta_log_stream_disabled",
        max(s.published_ms for s in logged) / 1000,
        {s.uuid for s in logged},
        ("poll",),
    )


def _deactivation_result(attacks: list[Attack]) -> dict[str, Any] | None:
    attack = next((a for a in attacks if a.scenario == DEACTIVATED), None)
    if attack is None:
        return None
    found, alerted = attack.found.get("poll"), attack.alerted.get("poll")
    return {
        "finding_seconds": round(found - attack.published, 1) if found else None,
        "alert_seconds": round(alerted - attack.published, 1) if alerted else None,
    }


def _drop(client: OpenSearch, prefixes: list[str]) -> None:
    for prefix in prefixes:
        drop_prefix(client, prefix)
        findings = f"{prefix}-findings"
        client.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
        client.indices.delete_index_template(name=findings, params={"ignore": 404})
        client.indices.delete(index=f"{prefix}-ledger", params={"ignore_unavailable": "true"})


def render(result: dict[str, Any]) -> str:
    rows = []
    for key, label in (("push", "push (log stream)"), ("polling", "polling (automation)")):
        side = result[key]
        missed = len(side["not_found"]) + len(side["not_alerted"])
        rows.append(
            [
                label,
                side["p50"],
                side["p95"],
                side["alert_p50"],
                side["alert_p95"],
                f"{missed} not found or not alerted" if missed else "all found and alerted",
            ]
        )
    deactivated = result.get("stream_deactivated")
    if deactivated:
        rows.append(
            [
                "stream deactivated",
                deactivated["finding_seconds"],
                "",
                deactivated["alert_seconds"],
                "",
                "its lifecycle event, by polling (goal: alerted within 10 min)",
            ]
        )
    runs = result["drain_runs"]
    return table(
        f"Time to detect through dagster-daemon, {result['attacks']} attacks (seconds from the "
        f"last event's published; goals: push p95 <= {GOALS['push_finding_p95']:.0f} s to the "
        f"finding and <= {GOALS['push_alert_p95']:.0f} s to the alert, polling p95 <= "
        f"{GOALS['poll_finding_p95'] / 60:.0f} min); {runs['launched']} drain runs, "
        f"{runs['failed']} failed",
        ["ingestion", "finding p50", "finding p95", "alert p50", "alert p95", ""],
        rows,
    )


def _findings_of(client: OpenSearch, side: Side, pending: list[Attack]) -> list[dict[str, Any]]:
    """The side's findings that hold a pending attack's events; none yet while a findings index
    the pipeline has just created has no started shard (OpenSearch answers 503 then, and the
    next poll asks again)."""
    try:
        found: list[dict[str, Any]] = client.search(
            index=f"{side.prefix}-findings-*",
            body={
                "size": 1000,
                "query": {
                    "terms": {"evidence.uuids": sorted(set().union(*(a.uuids for a in pending)))}
                },
                "_source": ["finding_id", "detection.id", "evidence.uuids"],
            },
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )["hits"]["hits"]
    except TransportError as error:
        if error.status_code != 503:
            raise
        return []
    return found
