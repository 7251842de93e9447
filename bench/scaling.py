"""Scaling: the loader's time and peak memory at 1x, 4x and 16x the event rate over the same
hour, each load in a process of its own."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from bench.measure import run_child, table
from okta_pipeline.lib.landing import LandingZone, split_into_windows
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.index_setup import drop_prefix

START = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def run(client: OpenSearch, opensearch_url: str, quick: bool, tmp_root: Path) -> dict[str, Any]:
    base_per_minute = 80 if quick else 400
    rows = []
    for factor in (1, 4, 16):
        org = SimulatedOrg(seed=64, events_per_minute=base_per_minute * factor)
        landing = tmp_root / f"scaling-{factor}"
        span = (int(START.timestamp() * 1000), int(END.timestamp() * 1000))
        events = [s.event for s in org.published_between(*span)]
        split_into_windows(LandingZone(landing), events, START, END, END)
        prefix = f"bench-scale-{factor}"
        try:
            result, peak = run_child(
                "bench.pipeline_child",
                [
                    "load",
                    "--start",
                    START.isoformat(),
                    "--end",
                    END.isoformat(),
                    "--landing",
                    str(landing),
                    "--opensearch",
                    opensearch_url,
                    "--prefix",
                    prefix,
                ],
            )
        finally:
            drop_prefix(client, prefix)
            shutil.rmtree(landing, ignore_errors=True)
        if result["documents"] != len(events) or result["failed"]:
            raise RuntimeError(f"scaling load lost events: {result}")
        rows.append(
            {
                "factor": factor,
                "documents": len(events),
                "seconds": result["seconds"],
                "documents_per_second": round(len(events) / result["seconds"], 1),
                "peak_rss_mb": peak,
            }
        )
    return {"hour": START.isoformat(), "runs": rows}


def render(result: dict[str, Any]) -> str:
    body = table(
        "Scaling of the loader: one hour of events at 1x, 4x and 16x the rate",
        ["rate", "documents", "seconds", "documents/s", "peak MB"],
        [
            [
                f"{r['factor']}x",
                r["documents"],
                r["seconds"],
                r["documents_per_second"],
                r["peak_rss_mb"],
            ]
            for r in result["runs"]
        ],
    )
    return f"{body}\n  detections, stateful ones included: see the detection scenario"
