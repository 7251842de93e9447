"""The simulator's rare benign operations: opt-in, at their rate, and never moving a seed's
ordinary events or attacks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from okta_pipeline.lib.okta_simulator.operations import OPERATIONS, Operation
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg

DAY_MS = 86_400_000
DAYS = 10


def _events(org: SimulatedOrg) -> list[dict[str, Any]]:
    return [s.event for s in org.published_between(0, DAYS * DAY_MS)]


def test_operations_add_events_without_moving_the_seeds_own() -> None:
    plain = _events(SimulatedOrg(seed=5, events_per_minute=2))
    busy = _events(SimulatedOrg(seed=5, events_per_minute=2, operations=OPERATIONS))
    plain_ids = {e["uuid"] for e in plain}
    assert plain_ids < {e["uuid"] for e in busy}
    added = [e for e in busy if e["uuid"] not in plain_ids]
    kinds = Counter(e["eventType"] for e in added)
    # The log poller at Okta's limit, four times a day: about 40 in 10 days.
    assert 20 <= kinds["system.org.rate_limit.violation"] <= 65, kinds
    poller = next(e for e in added if e["eventType"] == "system.org.rate_limit.violation")
    assert poller["debugContext"]["debugData"]["requestUri"] == "/api/v1/logs"
    assert {"user.mfa.factor.reset_all", "user.authentication.auth_via_mfa"} <= set(kinds)


def test_an_operations_rate_is_per_org_day_whatever_the_traffic() -> None:
    daily = (Operation("api_token_rotated", 3.0, OPERATIONS[4].build),)
    counts = []
    for rate in (1, 10):
        org = SimulatedOrg(
            seed=9, events_per_minute=rate, scenario_period_minutes=None, operations=daily
        )
        events = [s.event for s in org.published_between(0, 5 * DAY_MS)]
        counts.append(sum(1 for e in events if e["eventType"] == "system.api_token.revoke"))
    assert counts[0] == counts[1]
    assert 5 <= counts[0] <= 30
