"""Simulated trails the AWS simulator's tests share (generated once per process)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from okta_pipeline.lib.aws_simulator.records import StoredRecord
from okta_pipeline.lib.aws_simulator.scenarios import CROSS_SOURCE_OKTA_SCENARIOS
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg, StoredEvent

MINUTE = 60_000
HOUR = 60 * MINUTE
# A Tuesday afternoon (UTC): busy hours of the daily rhythm.
START = int(datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)
END = START + 2 * HOUR
SEED = 17


def cross_source_org(seed: int = SEED) -> SimulatedOrg:
    return SimulatedOrg(seed, scenarios=SCENARIOS + CROSS_SOURCE_OKTA_SCENARIOS)


@lru_cache(maxsize=4)
def shared_org(seed: int = SEED) -> SimulatedOrg:
    """One org for the tests' trails: it is deterministic, and its cache of minutes serves them
    all (the Okta side is most of a trail's cost)."""
    return cross_source_org(seed)


@lru_cache(maxsize=4)
def trail(seed: int = SEED) -> SimulatedTrail:
    return SimulatedTrail(shared_org(seed))


@lru_cache(maxsize=4)
def records(seed: int = SEED) -> tuple[StoredRecord, ...]:
    """Two hours of the shared trail."""
    return tuple(trail(seed).records_between(START, END))


@lru_cache(maxsize=4)
def okta_events(seed: int = SEED) -> tuple[StoredEvent, ...]:
    """The Okta events behind them, from an hour earlier (sessions last an hour)."""
    return tuple(trail(seed).org.published_between(START - HOUR, END))
