"""Run every scenario, print its table, and write the results as JSON."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    backfill,
    cloudtrail,
    detection,
    extraction,
    loading,
    noise,
    scaling,
    sinks,
    time_to_detect,
)
from okta_pipeline.lib.cluster_endpoint import describe_components
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect

OUTPUT_DIR = Path(__file__).resolve().parent / "out"


def machine() -> dict[str, Any]:
    memory_kb, cpu = 0, "unknown"
    with contextlib.suppress(OSError, StopIteration, ValueError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        memory_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal:")))
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(
            line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def run_all(
    endpoint: OpenSearchSettings, quick: bool, progress: Callable[[str], None]
) -> dict[str, Any]:
    client = connect(replace(endpoint, timeout_seconds=300))
    components = describe_components(endpoint)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": machine(),
        "opensearch": {"version": components.version, "url": endpoint.url},
    }
    with tempfile.TemporaryDirectory(prefix="okta-bench-") as scratch:
        root = Path(scratch)
        scenarios: list[tuple[str, Callable[[], dict[str, Any]], Callable[[Any], str]]] = [
            ("extraction", lambda: extraction.run(quick), extraction.render),
            ("loading", lambda: loading.run(client, quick, root), loading.render),
            (
                "cloudtrail",
                lambda: cloudtrail.run(client, endpoint.url, quick, root),
                cloudtrail.render,
            ),
            ("backfill", lambda: backfill.run(client, endpoint.url, quick, root), backfill.render),
            ("scaling", lambda: scaling.run(client, endpoint.url, quick, root), scaling.render),
            (
                "detection",
                lambda: detection.run(client, endpoint.url, quick, root),
                detection.render,
            ),
            ("noise", lambda: noise.run(client, quick), noise.render),
            ("sinks", lambda: sinks.run(quick, root / "sinks"), sinks.render),
            (
                "time_to_detect",
                lambda: time_to_detect.run(client, endpoint.url, quick, root),
                time_to_detect.render,
            ),
        ]
        for name, measure, render in scenarios:
            progress(f"[bench] {name} ...")
            results[name] = measure()
            progress(render(results[name]) + "\n")
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def write(results: dict[str, Any]) -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = results["started"].replace(":", "").replace("-", "")
    path = OUTPUT_DIR / f"{results['mode']}-{stamp}.json"
    text = json.dumps(results, indent=2)
    path.write_text(text + "\n")
    (OUTPUT_DIR / f"latest-{results['mode']}.json").write_text(text + "\n")
    return path


def main(endpoint: OpenSearchSettings, quick: bool, as_json: bool) -> int:
    def progress(message: str) -> None:
        print(message, file=sys.stderr if as_json else sys.stdout, flush=True)

    results = run_all(endpoint, quick, progress)
    path = write(results)
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        print(f"Results written to {path}")
    return 0
