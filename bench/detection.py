"""Detection: the whole catalog over one simulated day, side by side with loading that day, and
over single windows as the automation runs it every five minutes.

Each measurement runs in a process of its own (`pipeline_child.py`) against the same node.
"""

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
from okta_pipeline.lib.windows import WINDOW

DAY = datetime(2026, 11, 18, tzinfo=UTC)  # a Wednesday
# Windows the automation would evaluate alone: night, morning peak, afternoon.
SAMPLE_WINDOWS = (timedelta(hours=3), timedelta(hours=9, minutes=30), timedelta(hours=15))
CADENCE_SECONDS = 300


def run(client: OpenSearch, opensearch_url: str, quick: bool, tmp_root: Path) -> dict[str, Any]:
    sizes = (10_000, 40_000) if quick else (250_000, 1_000_000)
    rows = []
    for events_per_day in sizes:
        org = SimulatedOrg(seed=65, events_per_minute=events_per_day / 1440)
        end = DAY + timedelta(days=1)
        span = (int(DAY.timestamp() * 1000), int(end.timestamp() * 1000))
        landing = tmp_root / f"detection-{events_per_day}"
        events = [s.event for s in org.published_between(*span)]
        split_into_windows(LandingZone(landing), events, DAY, end, end)
        del events
        prefix = f"bench-detect-{events_per_day}"
        common = ["--opensearch", opensearch_url, "--prefix", prefix]
        try:
            loaded, _ = run_child(
                "bench.pipeline_child",
                [
                    "load",
                    "--start",
                    DAY.isoformat(),
                    "--end",
                    end.isoformat(),
                    "--landing",
                    str(landing),
                    *common,
                ],
            )
            client.indices.refresh(index=f"{prefix}-*")
            day, peak = run_child(
                "bench.pipeline_child",
                ["detect", "--start", DAY.isoformat(), "--end", end.isoformat(), *common],
            )
            windows = []
            for offset in SAMPLE_WINDOWS:
                start = DAY + offset
                window, _ = run_child(
                    "bench.pipeline_child",
                    [
                        "detect",
                        "--start",
                        start.isoformat(),
                        "--end",
                        (start + WINDOW).isoformat(),
                        *common,
                    ],
                )
                windows.append(window["seconds"])
        finally:
            drop_prefix(client, prefix)
            shutil.rmtree(landing, ignore_errors=True)
        rows.append(
            {
                "events": loaded["documents"],
                "load_seconds": loaded["seconds"],
                "detect_seconds": day["seconds"],
                "detect_vs_load": round(day["seconds"] / loaded["seconds"], 3),
                "requests": day["requests"],
                "findings": day["findings"],
                "seconds_by_kind": day["seconds_by_kind"],
                "slowest": day["slowest"],
                "window_seconds": windows,
                "window_share_of_cadence": round(max(windows) / CADENCE_SECONDS, 4),
                "detect_peak_rss_mb": peak,
            }
        )
    return {"day": DAY.date().isoformat(), "detections": day["detections"], "runs": rows}


def render(result: dict[str, Any]) -> str:
    body = table(
        f"Detection: all {result['detections']} detections over one simulated day "
        f"({result['day']}), beside loading that day",
        [
            "events",
            "load s",
            "detect s",
            "detect/load",
            "requests",
            "findings",
            "one window s (3 samples)",
            "peak MB",
        ],
        [
            [
                r["events"],
                r["load_seconds"],
                r["detect_seconds"],
                r["detect_vs_load"],
                r["requests"],
                r["findings"],
                " / ".join(f"{s:.2f}" for s in r["window_seconds"]),
                r["detect_peak_rss_mb"],
            ]
            for r in result["runs"]
        ],
    )
    slowest = "; ".join(
        f"{r['events']:,} events: " + ", ".join(f"{s['id']} {s['seconds']}s" for s in r["slowest"])
        for r in result["runs"]
    )
    return f"{body}\n  slowest detections: {slowest}"
