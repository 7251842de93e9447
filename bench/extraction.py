"""Extraction: events per second from the simulator at three rate limits, against the ceiling.

The ceiling is what the limit allows at `limit=1000`: (requests per window / window seconds) x
1000 events. Each run starts on a window boundary and needs exactly `WINDOWS` windows of
requests, so the best any client can do is to finish as the last window opens:
fraction of ceiling = (WINDOWS - 1) x window / measured seconds. Windows are shortened from
Okta's 60 s to keep the run short; the client's wait margin after a reset is scaled the same way
(Okta's SDKs add 1 s to a 60 s window).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.measure import stopwatch, table
from okta_pipeline.lib.okta.client import OktaLogClient
from okta_pipeline.lib.okta.credentials import SswsToken
from okta_pipeline.lib.okta.rate_budget import RateBudget
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg

WINDOW_SECONDS = 3
LIMITS = (2, 4, 8)  # requests per window: 40, 80 and 160 per minute, like Okta's org tiers
TOKEN = "bench-token"  # noqa: S105 - the simulator's own throwaway token
START = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)  # a Tuesday, fixed so runs compare


def run(quick: bool) -> dict[str, Any]:
    windows = 6 if quick else 15
    pinned_now = (START + timedelta(days=1)).timestamp()
    rows = []
    for limit in LIMITS:
        # 1,000 events short of `limit * windows` full pages: exactly limit * windows requests
        wanted = limit * windows * 1000 - 500
        org = SimulatedOrg(seed=61, events_per_minute=1_000, scenario_period_minutes=None)
        end = _end_for(org, wanted)
        options = SimulatorOptions(
            rate_limit_per_window=limit,
            rate_limit_window_seconds=WINDOW_SECONDS,
            api_tokens=frozenset({TOKEN}),
        )
        app = build_app(options, source=org, clock=lambda: pinned_now)
        with SimulatorServer(app) as server:
            client = OktaLogClient(
                server.base_url,
                SswsToken(TOKEN),
                budget=RateBudget(share=1.0, reset_margin_seconds=WINDOW_SECONDS / 60),
            )
            _sleep_to_window_boundary()
            with stopwatch() as watch:
                fetched = sum(1 for _ in client.fetch_range(START, end))
            client.close()
        if fetched != wanted:
            raise RuntimeError(f"fetched {fetched} events, the simulator holds {wanted}")
        ideal_seconds = (math.ceil(client.stats.requests / limit) - 1) * WINDOW_SECONDS
        rows.append(
            {
                "requests_per_minute": limit * 60 // WINDOW_SECONDS,
                "events": fetched,
                "seconds": round(watch.seconds, 2),
                "events_per_second": round(fetched / watch.seconds, 1),
                "ceiling_events_per_second": round(limit / WINDOW_SECONDS * 1000, 1),
                "fraction_of_ceiling": round(ideal_seconds / watch.seconds, 3),
                "requests": client.stats.requests,
                "requests_per_1000_events": round(client.stats.requests / fetched * 1000, 3),
                "rate_limited": client.stats.rate_limited,
            }
        )
    return {"window_seconds": WINDOW_SECONDS, "windows_per_run": windows, "runs": rows}


def _end_for(org: SimulatedOrg, wanted: int) -> datetime:
    """The end of the range starting at START that holds exactly `wanted` events."""
    start_ms = int(START.timestamp() * 1000)
    for count, stored in enumerate(org.published_between(start_ms, start_ms + 10**10), 1):
        if count == wanted:
            return datetime.fromtimestamp((stored.published_ms + 1) / 1000, UTC)
    raise RuntimeError("the simulated org is too quiet for this benchmark")


def _sleep_to_window_boundary() -> None:
    now = time.time()
    time.sleep(math.ceil(now / WINDOW_SECONDS) * WINDOW_SECONDS - now + 0.01)


def render(result: dict[str, Any]) -> str:
    return table(
        f"Extraction ({result['windows_per_run']} rate-limit windows of "
        f"{result['window_seconds']} s per run, limit=1000)",
        [
            "req/min",
            "events",
            "seconds",
            "events/s",
            "ceiling/s",
            "of ceiling",
            "req/1k ev",
            "429s",
        ],
        [
            [
                r["requests_per_minute"],
                r["events"],
                r["seconds"],
                r["events_per_second"],
                r["ceiling_events_per_second"],
                f"{r['fraction_of_ceiling']:.1%}",
                r["requests_per_1000_events"],
                r["rate_limited"],
            ]
            for r in result["runs"]
        ],
    )
