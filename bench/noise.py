"""Noise: the whole catalog over a simulated org with no attacks, day by day, as findings per
detection per org-day. Every finding here is a false positive; the goal is at most one per
detection per org-day.

The org runs its rare, benign operations (token rotations, a log poller at the rate limit, a
lost phone, ...) and builds up history first: novelty detections compare with up to 30 days
of a user's past, so the measured days follow warm-up days that are loaded but not counted.
A full run writes the measured rates to `okta_pipeline/detections/noise.json`, which the docs
table and `okta-pipeline detections list --json` show.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from bench.measure import table
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import evaluate
from okta_pipeline.lib.detections.findings import ACTIVE
from okta_pipeline.lib.detections.noise import NOISE_FILE, NOISE_GOAL
from okta_pipeline.lib.landing import Event, window_start
from okta_pipeline.lib.okta_simulator.operations import OPERATIONS
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.index_setup import drop_prefix, ensure_template
from okta_pipeline.lib.opensearch.okta_index import daily_indices

FIRST_DAY = datetime(2026, 10, 1, tzinfo=UTC)
DAY = timedelta(days=1)
EVENTS_PER_MINUTE = 20.0  # about 29,000 events a day: an org of a thousand or so people
SEED = 71
PREFIX = "bench-noise"


def run(client: OpenSearch, quick: bool) -> dict[str, Any]:
    warm_up, measured = (1, 1) if quick else (7, 30)
    org = SimulatedOrg(
        seed=SEED,
        events_per_minute=EVENTS_PER_MINUTE,
        scenario_period_minutes=None,
        operations=OPERATIONS,
    )
    catalog = load_catalog()
    drop_prefix(client, PREFIX)
    ensure_template(client, PREFIX)
    active: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    started = time.monotonic()
    events = 0
    try:
        with tempfile.TemporaryDirectory(prefix="okta-noise-") as scratch:
            for offset in range(warm_up + measured):
                day = FIRST_DAY + offset * DAY
                events += _load_day(client, org, day, Path(scratch))
                if offset < warm_up:
                    continue
                evaluation = evaluate(client, daily_indices(PREFIX), catalog, day, day + DAY)
                for finding in evaluation.findings:
                    counts = active if finding.status == ACTIVE else suppressed
                    counts[finding.detection.id] += 1
    finally:
        drop_prefix(client, PREFIX)
    # Cross-source detections need CloudTrail, which the noise org does not have.
    rates = {d.id: round(active[d.id] / measured, 3) for d in catalog if not d.cross_source}
    result = {
        "org": {
            "seed": SEED,
            "events_per_minute": EVENTS_PER_MINUTE,
            "operations": {o.name: o.per_day for o in OPERATIONS},
        },
        "first_measured_day": (FIRST_DAY + warm_up * DAY).date().isoformat(),
        "warm_up_days": warm_up,
        "measured_days": measured,
        "events": events,
        "seconds": round(time.monotonic() - started, 1),
        "goal_per_org_day": NOISE_GOAL,
        "per_org_day": rates,
        "suppressed_per_org_day": {
            name: round(n / measured, 3) for name, n in sorted(suppressed.items())
        },
        "over_goal": sorted(name for name, rate in rates.items() if rate > NOISE_GOAL),
    }
    if not quick:
        NOISE_FILE.write_text(json.dumps(_measurement(result), indent=2) + "\n")
    return result


def _load_day(client: OpenSearch, org: SimulatedOrg, day: datetime, scratch: Path) -> int:
    by_window: dict[datetime, list[Event]] = {}
    span = (int(day.timestamp() * 1000), int((day + DAY).timestamp() * 1000))
    for stored in org.published_between(*span):
        published = datetime.fromtimestamp(stored.published_ms / 1000, UTC)
        by_window.setdefault(window_start(published), []).append(stored.event)
    report = load_windows(
        client, sorted(by_window.items()), PREFIX, DeadLetters(scratch / "dead.jsonl.gz")
    )
    if report.dead_lettered or report.failed:
        raise RuntimeError(f"the noise org's day {day:%Y-%m-%d} did not load: {report.summary()}")
    client.indices.refresh(index=f"{PREFIX}-*")
    return sum(len(events) for events in by_window.values())


def _measurement(result: dict[str, Any]) -> dict[str, Any]:
    """What the docs and the catalog listing show, without the run's timings."""
    keys = ("org", "first_measured_day", "warm_up_days", "measured_days", "goal_per_org_day")
    return {**{k: result[k] for k in keys}, "per_org_day": result["per_org_day"]}


def render(result: dict[str, Any]) -> str:
    rates = result["per_org_day"]
    noisy = sorted(((rate, name) for name, rate in rates.items() if rate > 0), reverse=True)
    body = table(
        f"Noise: {len(rates)} detections over {result['measured_days']} attack-free org-days "
        f"after {result['warm_up_days']} of history ({result['events']:,} events, "
        f"{result['org']['events_per_minute']:g} a minute, in {result['seconds']} s)",
        ["detection", "findings per org-day", f"within {result['goal_per_org_day']:g}"],
        [
            [name, f"{rate:.3f}", "yes" if rate <= result["goal_per_org_day"] else "NO"]
            for rate, name in noisy
        ]
        or [["(none fired)", "0.000", "yes"]],
    )
    silent = len(rates) - len(noisy)
    over = result["over_goal"]
    verdict = f"over the goal: {', '.join(over)}" if over else "every detection within the goal"
    return f"{body}\n  {silent} detections gave no finding; {verdict}"
