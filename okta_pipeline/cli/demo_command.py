"""`okta-pipeline demo`: run the pipeline over a window of simulated Okta activity, end to end."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from okta_pipeline.cli.demo_alerts import demo_destinations
from okta_pipeline.cli.demo_push import (
    demo_log_stream,
    play_live_attacks,
    push_summary,
    stream_history,
)
from okta_pipeline.cli.demo_secrets import demo_secret
from okta_pipeline.cli.demo_sinks import ship_to_standins
from okta_pipeline.cli.local_instance import QUIET, local_instance
from okta_pipeline.cli.local_trail import demo_trail
from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.cli.time_arguments import aligned_time
from okta_pipeline.definitions import aws_assets
from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.aws.correlation import IdentityLinkResource
from okta_pipeline.defs.aws.resources import CloudTrailResource
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.monitors import detection_monitors, monitors_match_catalog
from okta_pipeline.defs.detections.resources import DetectionsResource, MonitorsResource
from okta_pipeline.defs.jobs import (
    AWS_PIPELINE_JOB,
    MONITORS_JOB,
    aws_pipeline_job,
    monitors_job,
    pipeline_job,
)
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.defs.window_results import run_totals
from okta_pipeline.lib.aws_simulator.scenarios import CROSS_SOURCE_OKTA_SCENARIOS
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.cloudtrail.index import CLOUDTRAIL_PREFIX
from okta_pipeline.lib.cluster_endpoint import describe_components
from okta_pipeline.lib.correlation.identity_link import SESSIONS_PREFIX
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.findings import FINDINGS_PREFIX
from okta_pipeline.lib.detections.scoring import FoundEvidence, LabelledAttack, score
from okta_pipeline.lib.landing import WINDOW, LandingZone, window_start
from okta_pipeline.lib.monitors.compile import pipeline_only_reason
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.log_stream import ExtendableSource
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.okta_index import TEMPLATE_NAME, daily_indices, index_name

DEFAULT_SPAN = timedelta(hours=2)
SETTLE = timedelta(minutes=2)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo", help="run the pipeline over simulated Okta activity and print what it did"
    )
    parser.add_argument("--start", type=aligned_time, help="window start (UTC, 5-minute aligned)")
    parser.add_argument("--end", type=aligned_time, help="window end, exclusive (default: now)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated org")
    parser.add_argument("--events-per-minute", type=float, default=60.0)
    parser.add_argument(
        "--landing",
        type=Path,
        help="landing zone directory (default: ./landing or OKTA_PIPELINE_LANDING_ROOT)",
    )
    parser.add_argument(
        "--index-prefix",
        default=TEMPLATE_NAME,
        help="prefix of the daily event indices (another for another seed keeps them apart)",
    )
    parser.add_argument("--findings-prefix", default=FINDINGS_PREFIX)
    parser.add_argument(
        "--ledger-index",
        help="the alert delivery ledger (default: okta-alert-ledger, or okta-alert-ledger-"
        "standins when alerts go to the local stand-ins)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--sinks",
        action="store_true",
        help="also ship the windows to local stand-ins of CloudTrail Lake and OpenObserve",
    )
    parser.add_argument(
        "--truth-out",
        type=Path,
        help="write the injected attacks' events here (JSON Lines: scenario, incident, uuid)",
    )
    parser.set_defaults(handler=_demo)


def beside_index_prefix(index_prefix: str) -> tuple[str, str]:
    """CloudTrail's and the identity links' prefixes: the defaults with the default Okta
    prefix, else next to the one given, so a demo under its own prefix keeps them apart too."""
    if index_prefix == TEMPLATE_NAME:
        return CLOUDTRAIL_PREFIX, SESSIONS_PREFIX
    return f"{index_prefix}-cloudtrail", f"{index_prefix}-aws-sessions"


def default_window(now: datetime) -> tuple[datetime, datetime]:
    """The last two hours of windows that ended at least the settle delay ago."""
    end = window_start(now - SETTLE)
    return end - DEFAULT_SPAN, end


def run_demo(
    start: datetime,
    end: datetime,
    seed: int,
    events_per_minute: float,
    landing_root: Path,
    opensearch: OpenSearchResource,
    alerts: AlertsResource,
    progress: Any = None,
    truth_out: Path | None = None,
    instance: dg.DagsterInstance | None = None,
    sinks: bool = False,
) -> dict[str, Any]:
    """Serve a seeded org, run the pipeline's jobs over [start, end) in `instance` (an
    ephemeral one by default), and summarize."""
    instance = instance or dg.DagsterInstance.ephemeral()
    with demo_secret("OKTA_PIPELINE_DEMO_OKTA_TOKEN") as (token, token_env):
        options = SimulatorOptions(
            seed=seed, events_per_minute=events_per_minute, api_tokens=frozenset({token})
        )
        org = SimulatedOrg(
            seed=seed,
            events_per_minute=events_per_minute,
            delay=options.persistence,
            scenarios=SCENARIOS + CROSS_SOURCE_OKTA_SCENARIOS,
        )
        trail = SimulatedTrail(org)
        source = ExtendableSource(org)
        app = build_app(options, source=source)
        zone = LandingZone(landing_root)
        with (
            SimulatorServer(app) as server,
            demo_trail(trail, start, end) as aws,
            demo_log_stream(org, source) as push,
        ):
            app.log_streams = push.streamer
            if progress:
                progress(
                    f"Okta simulator (seed {seed}) on {server.base_url}, streaming its log to a "
                    f"local EventBridge bus and SQS queue ({push.aws.endpoint_url}); CloudTrail "
                    f"of the simulated AWS accounts: {aws.delivery.objects} log files in "
                    f"{aws.root} (a local S3 on {aws.endpoint_url})"
                )
            streamed_from = stream_history(push, zone, start, end)
            if progress:
                minutes = int((end - streamed_from).total_seconds() // 60)
                progress(
                    f"Drained the log stream's last {minutes} minutes into the landing zone; "
                    f"running the {AWS_PIPELINE_JOB} job for "
                    f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
                )
            resources: dict[str, Any] = {
                "okta": OktaResource(base_url=server.base_url, api_token=token_env),
                "landing": LandingZoneResource(root=str(landing_root)),
                "opensearch": opensearch,
                "detections": DetectionsResource(),
                "monitors": MonitorsResource(),
                "alerts": alerts,
                "cloudtrail": CloudTrailResource(root=aws.root, s3_endpoint_url=aws.endpoint_url),
                "identity_link": IdentityLinkResource(),
            }
            defs = demo_definitions(resources)
            result = defs.resolve_job_def(AWS_PIPELINE_JOB).execute_in_process(
                tags={
                    "dagster/asset_partition_range_start": start.strftime(PARTITION_FORMAT),
                    "dagster/asset_partition_range_end": (end - WINDOW).strftime(PARTITION_FORMAT),
                },
                instance=instance,
                run_config=QUIET,
                raise_on_error=True,
            )
            if progress:
                progress("Playing a few attacks live through the log stream")
            findings_client = opensearch.client()
            play_live_attacks(
                push,
                org,
                resources,
                instance,
                lambda detection, uuids: _has_finding(
                    findings_client, opensearch.findings_prefix, detection, uuids
                ),
            )
            pushed = push_summary(push, zone, end)
    shipped = None
    if sinks:
        if progress:
            progress("Shipping the windows to local stand-ins of CloudTrail Lake and OpenObserve")
        shipped = ship_to_standins(landing_root, start, end, instance)
    if progress:
        progress("Syncing the detection catalog to OpenSearch Alerting monitors")
    synced = defs.resolve_job_def(MONITORS_JOB).execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=True
    )
    monitors = synced.asset_materializations_for_node("detection_monitors")[0].metadata
    totals = run_totals(instance, result.run_id)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    client = opensearch.client()
    prefix = opensearch.index_prefix
    days = {
        index_name(prefix, start + i * timedelta(days=1)) for i in range((end - start).days + 1)
    }
    days.add(index_name(prefix, end - WINDOW))
    indices = sorted(name for name in days if client.indices.exists(index=name))
    incidents = org.incidents_between(start_ms, end_ms)
    cross = trail.incidents_between(start_ms, end_ms)
    if truth_out is not None:
        _write_truth(truth_out, org, start_ms, end_ms)
    # An attack that starts in Okta and goes on in AWS counts only when both halves are in the
    # range: its Okta half alone (AWS calls after the range's end) is not a complete attack.
    cross_scenarios = {s.name for s in CROSS_SOURCE_OKTA_SCENARIOS}
    attacks = [
        LabelledAttack(i.id, i.scenario.name, i.scenario.detected_by, i.uuids)
        for i in incidents.values()
        if i.id not in cross and i.scenario.name not in cross_scenarios
    ] + [
        LabelledAttack(i.id, i.scenario, i.detected_by, i.okta_uuids | i.aws_event_ids)
        for i in cross.values()
    ]
    found = _findings_between(client, opensearch.findings_prefix, start, end)
    results = score(attacks, found)
    cross_source = {d.id for d in load_catalog().enabled() if d.cross_source}
    return {
        "window": {
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "partitions": int((end - start) / WINDOW),
        },
        "okta": {
            "events": int(totals["okta_events_fetched"]),
            "requests": int(totals["okta_requests"]),
            "pages": int(totals["okta_pages"]),
            "rate_limited": int(totals["okta_rate_limited"]),
            "retries": int(totals["okta_retries"]),
        },
        "landing": {
            "root": str(landing_root),
            "files": str(landing_root / zone.dataset),
            "events": sum(1 for _ in zone.iter_window_events(start, end)),
            "new_events": int(totals["okta_events_new"]),
        },
        "opensearch": {
            "url": opensearch.url,
            "docs": _documents_between(client, prefix, start, end),
            "indices": indices,
            "indexed": int(totals["opensearch_indexed"]),
            "unchanged": int(totals["opensearch_unchanged"]),
            "windows_not_sent_again": int(totals["opensearch_windows_not_sent_again"]),
            "cloudtrail_prefix": opensearch.cloudtrail_prefix,
        },
        "cloudtrail": {
            "root": aws.root,
            "objects": int(totals["cloudtrail_objects"]),
            "events": int(totals["cloudtrail_records"]),
            "documents": _documents_between(
                client, opensearch.cloudtrail_prefix, start, end, "eventTime"
            ),
            "malformed_objects": int(totals["cloudtrail_malformed_objects"]),
        },
        "identity_links": {
            "sessions": int(totals["identity_link_sessions"]),
            "linked": int(totals["identity_link_linked"]),
            "not_linked": int(totals["identity_link_not_linked"]),
        },
        "truth": org.truth_between(start_ms, end_ms),
        "aws_truth": trail.truth_between(start_ms, end_ms),
        "detections": int(totals["detections_evaluated"]) + int(totals["cross_source_evaluated"]),
        "findings": dict(sorted(Counter(f.detection for f in found).items())),
        "correlation_findings": dict(
            sorted(Counter(f.detection for f in found if f.detection in cross_source).items())
        ),
        "new_findings": int(totals["detections_findings_new"])
        + int(totals["cross_source_findings_new"]),
        "attacks": [
            {
                "incident": r.attack.incident,
                "scenario": r.attack.scenario,
                "detection": r.attack.detection,
                "found": r.found,
                "finding_ids": [f.finding_id for f in r.findings],
            }
            for r in results
        ],
        "push": pushed,
        **({"sinks": shipped} if shipped is not None else {}),
        "alerts": {
            key: int(totals[f"alerts_{key}"])
            for key in ("jira_created", "jira_commented", "slack_sent", "pending")
        },
        "monitors": {
            "alerting": "alerting" not in monitors,
            **{
                key: monitors[key].value if key in monitors else 0
                for key in ("created", "updated", "deleted", "unchanged", "total")
            },
            "pipeline_only": sum(1 for d in load_catalog().enabled() if pipeline_only_reason(d)),
        },
        "dagster_run_id": result.run_id,
    }


def demo_definitions(resources: dict[str, Any]) -> dg.Definitions:
    """The project's jobs on the demo's local services, CloudTrail included."""
    return dg.Definitions(
        assets=[
            okta_system_log,
            opensearch_okta_logs,
            okta_detections,
            *aws_assets(),
            detection_monitors,
        ],
        asset_checks=[monitors_match_catalog],
        jobs=[pipeline_job, aws_pipeline_job, monitors_job],
        resources=resources,
    )


def _demo(args: argparse.Namespace) -> int:
    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    start, end = default_window(datetime.now(UTC))
    start, end = args.start or (args.end - DEFAULT_SPAN if args.end else start), args.end or end
    if start >= end:
        raise ValueError(f"--start ({start:%Y-%m-%dT%H:%MZ}) must be before --end")
    landing_root = args.landing or Path(os.environ.get("OKTA_PIPELINE_LANDING_ROOT") or "landing")
    cloudtrail_prefix, sessions_prefix = beside_index_prefix(args.index_prefix)
    endpoint = ensure_cluster()
    components = describe_components(endpoint)
    opensearch = OpenSearchResource(
        url=endpoint.url,
        username=endpoint.username,
        password=endpoint.password,
        ca_certs=endpoint.ca_certs,
        index_prefix=args.index_prefix,
        findings_prefix=args.findings_prefix,
        cloudtrail_prefix=cloudtrail_prefix,
        sessions_prefix=sessions_prefix,
    )
    instance = local_instance(os.environ, Path.cwd())
    with instance, demo_destinations(os.environ, args.ledger_index) as destinations:
        progress(f"Alerts go to {destinations.description}")
        summary = run_demo(
            start,
            end,
            args.seed,
            args.events_per_minute,
            landing_root,
            opensearch,
            destinations.resource,
            progress,
            truth_out=args.truth_out,
            instance=instance,
            sinks=args.sinks,
        )
    summary["dagster_home"] = instance.root_directory
    summary["alert_destinations"] = destinations.label
    summary["opensearch"].update(version=components.version, plugins=components.plugins)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    okta, landing, window = summary["okta"], summary["landing"], summary["window"]
    print(f"Window {window['start']} to {window['end']} ({window['partitions']} partitions)")
    print(
        f"  Okta: {okta['events']} events in {okta['requests']} requests "
        f"({okta['rate_limited']} rate-limited, {okta['retries']} retried)"
    )
    print(
        f"  Landed: {landing['events']} events ({landing['new_events']} new this run), a "
        f"gzipped JSON Lines file per window under {landing['files']}/"
    )
    print(_push_line(summary["push"]))
    print(
        "  Injected attacks (events): "
        + ", ".join(f"{name} {count}" for name, count in summary["truth"].items())
    )
    trail, links = summary["cloudtrail"], summary["identity_links"]
    print(
        f"  CloudTrail: {trail['events']} records from {trail['objects']} log files of the "
        f"simulated AWS accounts ({trail['root']}), {trail['documents']} documents in "
        f"{opensearch_cloudtrail_pattern(summary)}; AWS records of injected attacks: "
        + ", ".join(f"{name} {count}" for name, count in summary["aws_truth"].items())
    )
    print(
        f"  Identity link: {links['linked']} of {links['sessions']} AWS SAML sessions linked to "
        f"the Okta user and session behind them ({links['not_linked']} with no Okta SSO)"
    )
    search = summary["opensearch"]
    skipped = search["windows_not_sent_again"]
    print(
        f"  OpenSearch {components.version} at {endpoint.url}: {search['docs']} documents in "
        f"{', '.join(search['indices'])} ({search['indexed']} indexed, "
        f"{search['unchanged']} unchanged this run"
        + (
            f"; {skipped} windows unchanged since their last load, not sent again)"
            if skipped
            else ")"
        )
    )
    if "sinks" in summary:
        print(_sinks_line(summary["sinks"]))
    _print_findings(summary)
    alerts = summary["alerts"]
    print(
        f"  Alerts to {destinations.label}: {alerts['jira_created']} Jira issues created, "
        f"{alerts['jira_commented']} comments on open ones, {alerts['slack_sent']} Slack "
        f"messages, {alerts['pending']} pending"
    )
    print(_monitors_line(summary["monitors"]))
    if args.truth_out:
        print(f"  Ground truth of the injected attacks: {args.truth_out}")
    print(
        f"Dagster recorded these runs in {summary['dagster_home']}; to see them, their "
        "partitions and checks in the Dagster UI, run: make ui"
    )
    return 0


def _sinks_line(sinks: dict[str, Any]) -> str:
    parts = []
    for key, label in (("cloudtrail_lake", "CloudTrail Lake"), ("openobserve", "OpenObserve")):
        sink = sinks[key]
        parts.append(
            f"{label} accepted {sink['accepted']} of {sink['sent']} sent "
            f"({sink['already_accepted']} accepted before, {sink['dead_lettered']} "
            f"dead-lettered, {sink['failed']} failed; {sink['stored_twice']} stored twice)"
        )
    return "  Sinks (local stand-ins): " + "; ".join(parts)


def _push_line(push: dict[str, Any]) -> str:
    detect, alert = push["time_to_detect_seconds"], push["time_to_alert_seconds"]
    missed = len(push["live_attacks_missed"]) + len(push["live_attacks_dropped"])
    dropped = (
        f" ({len(push['live_attacks_dropped'])} dropped by the stream, left to polling)"
        if push["live_attacks_dropped"]
        else ""
    )
    live = (
        f"{push['live_attacks'] - missed} of {push['live_attacks']} attacks played live{dropped} "
        "found "
        f"{detect['p50']} s (p50) / {detect['p95']} s (p95) after their last event, alerted "
        f"{alert['p95']} s (p95) after it, by drain runs started as soon as the queue held "
        "messages"
        if detect["p50"] is not None
        else f"none of the {push['live_attacks']} attacks played live was found in time"
    )
    return (
        f"  Log stream since {push['streamed_from']}: {push['events']} events pushed "
        f"({push['duplicates']} delivered twice, {push['late']} after their window closed), "
        f"{push['by_both']} also polled, {push['not_pushed']} came by polling only; {live}"
    )


def opensearch_cloudtrail_pattern(summary: dict[str, Any]) -> str:
    return f"{summary['opensearch']['cloudtrail_prefix']}-*"


def _monitors_line(monitors: dict[str, Any]) -> str:
    if not monitors["alerting"]:
        return "  Monitors: none synced, the cluster has no Alerting plugin"
    return (
        f"  Monitors in OpenSearch Alerting: {monitors['total']} ({monitors['created']} created, "
        f"{monitors['updated']} updated, {monitors['deleted']} deleted, {monitors['unchanged']} "
        f"unchanged); {monitors['pipeline_only']} stateful detections run in the pipeline only"
    )


def _print_findings(summary: dict[str, Any]) -> None:
    findings: dict[str, int] = summary["findings"]
    attacks = summary["attacks"]
    found = sum(1 for a in attacks if a["found"])
    print(
        f"  Detections: {summary['detections']} evaluated, {sum(findings.values())} findings "
        f"({summary['new_findings']} new this run); {found} of {len(attacks)} complete injected "
        "attacks found by the detection meant for each"
    )
    width = max((len(name) for name in findings), default=9)
    print(f"    {'detection':<{width}}  findings  attacks found")
    expected: dict[str, list[bool]] = {}
    for attack in attacks:
        expected.setdefault(attack["detection"], []).append(attack["found"])
    for name in sorted(set(findings) | set(expected)):
        hits = expected.get(name, [])
        attacks_found = f"{sum(hits)}/{len(hits)}" if hits else ""
        print(f"    {name:<{width}}  {findings.get(name, 0):>8}  {attacks_found}")
    missed = [a["incident"] for a in attacks if not a["found"]]
    if missed:
        print(f"  NOT FOUND: {', '.join(missed)}")


def _write_truth(path: Path, org: SimulatedOrg, start_ms: int, end_ms: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for stored in org.published_between(start_ms, end_ms):
            if stored.scenario:
                record = {
                    "scenario": stored.scenario,
                    "incident": stored.incident,
                    "uuid": stored.uuid,
                    "published": stored.event.get("published"),
                    "eventType": stored.event.get("eventType"),
                }
                out.write(json.dumps(record) + "\n")


def _findings_between(
    client: Any, prefix: str, start: datetime, end: datetime
) -> list[FoundEvidence]:
    response = client.search(
        index=daily_indices(prefix),
        body={
            "size": 10_000,
            "query": {"range": {"window.start": {"gte": start.isoformat(), "lt": end.isoformat()}}},
            "_source": ["finding_id", "detection.id", "evidence.uuids", "evidence.cloudtrail"],
        },
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return [FoundEvidence.from_document(hit["_source"]) for hit in response["hits"]["hits"]]


def _has_finding(client: Any, prefix: str, detection: str, uuids: set[str]) -> bool:
    """Whether a finding of `detection` holds any of `uuids` as evidence."""
    response = client.count(
        index=daily_indices(prefix),
        body={
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"detection.id": detection}},
                        {"terms": {"evidence.uuids": sorted(uuids)}},
                    ]
                }
            }
        },
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return int(response["count"]) > 0


def _documents_between(
    client: Any, prefix: str, start: datetime, end: datetime, time_field: str = "published"
) -> int:
    """Documents of the prefix's daily indices whose `time_field` is in [start, end)."""
    response = client.count(
        index=daily_indices(prefix),
        body={"query": {"range": {time_field: {"gte": start.isoformat(), "lt": end.isoformat()}}}},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return int(response["count"])
