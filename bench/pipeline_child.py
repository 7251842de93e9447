"""One measured pipeline run in a process of its own: `python -m bench.pipeline_child MODE ...`.

Prints one JSON line with what it did and its own peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from bench.measure import peak_rss_mb, stopwatch
from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.index_setup import ensure_template

PARTITION_FORMAT = "%Y-%m-%d-%H:%M"


def backfill(args: argparse.Namespace) -> dict[str, Any]:
    """Fetch, land, load and check [start, end) through Dagster, in one run."""
    from okta_pipeline.defs.okta.assets import okta_system_log
    from okta_pipeline.defs.okta.resources import OktaResource
    from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
    from okta_pipeline.defs.opensearch.resources import OpenSearchResource
    from okta_pipeline.defs.storage.resources import LandingZoneResource
    from okta_pipeline.defs.window_results import run_totals

    instance = dg.DagsterInstance.ephemeral()
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    with stopwatch() as watch:
        result = dg.materialize(
            [okta_system_log, opensearch_okta_logs],
            instance=instance,
            resources={
                "okta": OktaResource(base_url=args.okta_url, api_token=args.token),
                "landing": LandingZoneResource(root=args.landing),
                "opensearch": OpenSearchResource(url=args.opensearch, index_prefix=args.prefix),
            },
            tags={
                "dagster/asset_partition_range_start": start.strftime(PARTITION_FORMAT),
                "dagster/asset_partition_range_end": (end - WINDOW).strftime(PARTITION_FORMAT),
            },
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
    totals = run_totals(instance, result.run_id)
    documents = sum(
        int(str(m.metadata["dagster/partition_row_count"].value))
        for m in result.asset_materializations_for_node("opensearch_okta_logs")
    )
    checks = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    return {
        "seconds": round(watch.seconds, 2),
        "events": int(totals["okta_events_fetched"]),
        "okta_requests": int(totals["okta_requests"]),
        "documents": documents,
        "dagster_runs": 1,
        "checks_passed": sum(1 for e in checks if getattr(e.event_specific_data, "passed", False)),
        "checks": len(checks),
    }


def load(args: argparse.Namespace) -> dict[str, Any]:
    """Load landed windows [start, end) with the project's loader only."""
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    zone = LandingZone(Path(args.landing))
    client = OpenSearch(hosts=[args.opensearch], timeout=300, http_compress=True)
    ensure_template(client, args.prefix)

    def windows() -> Any:
        moment = start
        while moment < end:
            yield moment, zone.iter_window_lines(moment)
            moment += WINDOW

    with stopwatch() as watch:
        report = load_windows(
            client, windows(), args.prefix, DeadLetters(Path(args.landing) / "dead.jsonl.gz")
        )
    return {
        "seconds": round(watch.seconds, 2),
        "documents": sum(w.indexed + w.unchanged for w in report.windows.values()),
        "failed": report.failed + report.dead_lettered,
    }


def detect(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate the whole catalog over [start, end) with the engine the asset uses."""
    from okta_pipeline.lib.detections.catalog import load_catalog
    from okta_pipeline.lib.detections.engine import evaluate
    from okta_pipeline.lib.opensearch.okta_index import daily_indices

    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    client = OpenSearch(hosts=[args.opensearch], timeout=300, http_compress=True)
    catalog = load_catalog()
    with stopwatch() as watch:
        evaluation = evaluate(client, daily_indices(args.prefix), catalog, start, end)
    by_kind: dict[str, float] = {}
    for detection in catalog:
        kind = detection.kind.value
        by_kind[kind] = round(by_kind.get(kind, 0.0) + evaluation.seconds[detection.id], 2)
    slowest = sorted(evaluation.seconds.items(), key=lambda item: -item[1])[:3]
    return {
        "seconds": round(watch.seconds, 2),
        "detections": len(catalog),
        "findings": len(evaluation.findings),
        "requests": evaluation.requests,
        "seconds_by_kind": by_kind,
        "slowest": [{"id": name, "seconds": seconds} for name, seconds in slowest],
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["backfill", "load", "detect"])
    for option in ("--start", "--end", "--opensearch", "--prefix"):
        parser.add_argument(option, required=True)
    parser.add_argument("--landing")
    parser.add_argument("--okta-url")
    parser.add_argument("--token")
    args = parser.parse_args()
    modes = {"backfill": backfill, "load": load, "detect": detect}
    result = modes[args.mode](args)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
