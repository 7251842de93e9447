"""`okta-pipeline demo`: run the pipeline over a window of simulated Okta activity, end to end."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.partitions import PARTITION_FORMAT
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.cluster_endpoint import describe_components
from okta_pipeline.lib.landing import WINDOW, LandingZone, window_start
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.okta_index import daily_indices, index_name

DAGSTER_UI_COMMAND = "dagster dev -w workspace.yaml"
DEFAULT_SPAN = timedelta(hours=2)
SETTLE = timedelta(minutes=2)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo", help="run the pipeline over simulated Okta activity and print what it did"
    )
    parser.add_argument("--start", type=_aligned_time, help="window start (UTC, 5-minute aligned)")
    parser.add_argument("--end", type=_aligned_time, help="window end, exclusive (default: now)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated org")
    parser.add_argument("--events-per-minute", type=float, default=60.0)
    parser.add_argument(
        "--landing",
        type=Path,
        help="landing zone directory (default: ./landing or OKTA_PIPELINE_LANDING_ROOT)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_demo)


def _aligned_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    if moment != window_start(moment):
        raise argparse.ArgumentTypeError(
            f"{text} is not on a 5-minute boundary (try {window_start(moment):%Y-%m-%dT%H:%M}Z)"
        )
    return moment


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
    progress: Any = None,
) -> dict[str, Any]:
    """Serve a seeded org, materialize the pipeline over [start, end), and summarize."""
    token = secrets.token_urlsafe(24)
    options = SimulatorOptions(
        seed=seed, events_per_minute=events_per_minute, api_tokens=frozenset({token})
    )
    org = SimulatedOrg(seed=seed, events_per_minute=events_per_minute, delay=options.persistence)
    app = build_app(options, source=org)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    with SimulatorServer(app) as server:
        if progress:
            progress(
                f"Okta simulator (seed {seed}) on {server.base_url}; materializing "
                f"the pipeline for {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
            )
        result = dg.materialize(
            [okta_system_log, opensearch_okta_logs],
            resources={
                "okta": OktaResource(base_url=server.base_url, api_token=token),
                "landing": LandingZoneResource(root=str(landing_root)),
                "opensearch": opensearch,
            },
            tags={
                "dagster/asset_partition_range_start": start.strftime(PARTITION_FORMAT),
                "dagster/asset_partition_range_end": (end - WINDOW).strftime(PARTITION_FORMAT),
            },
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            raise_on_error=True,
        )
    # One materialization per partition, all carrying the run's totals.
    materialization = result.asset_materializations_for_node("okta_system_log")[0]
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    zone = LandingZone(landing_root)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    loaded = result.asset_materializations_for_node("opensearch_okta_logs")[0].metadata
    client = opensearch.client()
    prefix = opensearch.index_prefix
    days = {
        index_name(prefix, start + i * timedelta(days=1)) for i in range((end - start).days + 1)
    }
    days.add(index_name(prefix, end - WINDOW))
    indices = sorted(name for name in days if client.indices.exists(index=name))
    return {
        "window": {
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "partitions": int((end - start) / WINDOW),
        },
        "okta": {
            "events": metadata["events_fetched"],
            "requests": metadata["okta_requests"],
            "pages": metadata["okta_pages"],
            "rate_limited": metadata["okta_rate_limited"],
            "retries": metadata["okta_retries"],
        },
        "landing": {
            "root": str(landing_root),
            "events": sum(1 for _ in zone.iter_window_events(start, end)),
            "new_events": metadata["events_new"],
        },
        "opensearch": {
            "url": opensearch.url,
            "docs": _documents_between(client, prefix, start, end),
            "indices": indices,
            "indexed": loaded["indexed"].value,
            "unchanged": loaded["unchanged"].value,
        },
        "truth": org.truth_between(start_ms, end_ms),
        "dagster_run_id": result.run_id,
    }


def _demo(args: argparse.Namespace) -> int:
    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    start, end = default_window(datetime.now(UTC))
    start, end = args.start or (args.end - DEFAULT_SPAN if args.end else start), args.end or end
    if start >= end:
        raise ValueError(f"--start ({start:%Y-%m-%dT%H:%MZ}) must be before --end")
    landing_root = args.landing or Path(os.environ.get("OKTA_PIPELINE_LANDING_ROOT") or "landing")
    endpoint = ensure_cluster()
    components = describe_components(endpoint)
    opensearch = OpenSearchResource(
        url=endpoint.url,
        username=endpoint.username,
        password=endpoint.password,
        ca_certs=endpoint.ca_certs,
    )
    summary = run_demo(
        start, end, args.seed, args.events_per_minute, landing_root, opensearch, progress
    )
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
        f"  Landing zone {landing['root']}: {landing['events']} events "
        f"({landing['new_events']} new this run)"
    )
    print(
        "  Injected attacks (events): "
        + ", ".join(f"{name} {count}" for name, count in summary["truth"].items())
    )
    search = summary["opensearch"]
    print(
        f"  OpenSearch {components.version} at {endpoint.url}: {search['docs']} documents in "
        f"{', '.join(search['indices'])} ({search['indexed']} indexed, "
        f"{search['unchanged']} unchanged this run)"
    )
    print("Open the Dagster UI with:")
    print(f"  .venv/bin/{DAGSTER_UI_COMMAND}    # then browse http://127.0.0.1:3000")
    return 0


def _documents_between(client: Any, prefix: str, start: datetime, end: datetime) -> int:
    response = client.count(
        index=daily_indices(prefix),
        body={"query": {"range": {"published": {"gte": start.isoformat(), "lt": end.isoformat()}}}},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return int(response["count"])
