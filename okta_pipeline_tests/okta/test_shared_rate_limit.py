"""Two runs fetching at once from one org, over real sockets: together they stay within the
configured share of Okta's rate limit, because each judges by the org's own headers."""

from __future__ import annotations

import threading
from datetime import timedelta

from okta_pipeline.lib.okta.client import OktaLogClient
from okta_pipeline.lib.okta.credentials import SswsToken
from okta_pipeline.lib.okta.rate_budget import RateBudget
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline_tests.okta.helpers import TOKEN, running_simulator, weekday_noon_range

LIMIT = 40  # per two-second window, so the test takes seconds, not minutes
SHARE = 0.5
ORG = SimulatedOrg(seed=3, events_per_minute=60)


def test_two_concurrent_runs_share_one_budget() -> None:
    options = SimulatorOptions(rate_limit_per_window=LIMIT, rate_limit_window_seconds=2)
    # About 560 events before noon on a weekday: 56 pages of 10 for each run, several windows.
    start, end = weekday_noon_range(timedelta(minutes=5))
    counts: list[int] = []
    with running_simulator(options, source=ORG) as (app, url):

        def run() -> None:
            client = OktaLogClient(
                url,
                SswsToken(TOKEN),
                budget=RateBudget(SHARE, reset_margin_seconds=0.2),
                page_size=10,
            )
            try:
                counts.append(sum(1 for _ in client.fetch_range(start, end)))
            finally:
                client.close()

        runs = [threading.Thread(target=run) for _ in range(2)]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join(timeout=120)
        used = app.rate_limiter.used_per_window
    assert len(counts) == 2 and counts[0] == counts[1] > 0
    assert sum(used.values()) >= 2 * counts[0] // 10 > LIMIT  # more than one window of paging
    # One share of the window between them, give or take the one request two runs can both
    # send when they read the same last remaining count.
    assert max(used.values()) <= LIMIT * SHARE + 1, dict(used)
    assert app.stats.rate_limited == 0
