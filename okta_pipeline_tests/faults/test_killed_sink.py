"""A sink run killed with SIGKILL mid-shipment, then run again: no landed event is missing at
the destination, and the only events it got twice are those the killed run had accepted in its
last checkpoint interval (the sent ledger had not written them yet). The sink runs in a child
process of its own, against the CloudTrail Lake stand-in over a socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from okta_pipeline.lib.landing import WINDOW, LandingZone
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline.lib.sinks.sent_ledger import CHECKPOINT_SECONDS as CHECKPOINT
from okta_pipeline.lib.standins.cloudtrail_data import CloudTrailDataStandIn
from okta_pipeline_tests.faults.outcome import ROWS, FaultOutcome, landed_uuids
from okta_pipeline_tests.faults.processes import child, finished, kill_when, stderr_of
from okta_pipeline_tests.okta.helpers import weekday_noon_range

CHANNEL = "arn:aws:cloudtrail:us-east-1:123456789012:channel/okta-pipeline-fault"
ACCESS_KEY = "AKIASTANDINFAULT0001"
ORG = SimulatedOrg(seed=73, events_per_minute=60)


@pytest.fixture
def lake() -> Iterator[CloudTrailDataStandIn]:
    with CloudTrailDataStandIn(CHANNEL, ACCESS_KEY) as standin:
        yield standin


def land(zone: LandingZone, start: datetime, end: datetime) -> None:
    """The simulated org's events of [start, end), landed window by window."""
    moment = start
    while moment < end:
        edges = (int(moment.timestamp() * 1000), int((moment + WINDOW).timestamp() * 1000))
        events = [stored.event for stored in ORG.published_between(*edges)]
        zone.write_window(moment, events, datetime.now(UTC))
        moment += WINDOW


def test_a_sink_killed_mid_shipment_then_run_again_misses_nothing_and_resends_only_its_last_seconds(
    lake: CloudTrailDataStandIn, tmp_path: Path
) -> None:
    start, end = weekday_noon_range(timedelta(hours=6))
    zone = LandingZone(tmp_path)
    land(zone, start, end)
    truth = set(landed_uuids(zone, start, end))
    args = [start.isoformat(), end.isoformat(), str(tmp_path), CHANNEL, lake.base_url]
    keys = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "fault-suite-secret"}

    first = child("sink_child", args, env=keys)
    kill_when(first, lambda: len(lake.accepted) >= 3_000, 180, "3,000 accepted events")
    killed_at = time.monotonic()
    accepted_before_kill = dict(lake.first_accepted_at)
    again = child("sink_child", args, env=keys)
    assert finished(again, timeout=300) == 0, stderr_of(again)

    doubled = {uuid for uuid, times in lake.accepted.items() if times > 1}
    # Accepted in the killed run's last checkpoint interval (and the batch then in flight),
    # with a second of slack for the kill itself.
    unrecorded = {
        uuid for uuid, at in accepted_before_kill.items() if at >= killed_at - CHECKPOINT - 1.0
    }
    outcome = FaultOutcome(
        scenario=f"SIGKILL mid-shipment to CloudTrail Lake (resends its last {CHECKPOINT:g} s)",
        expected=len(truth),
        landed=len(truth),
        indexed=len(set(lake.accepted) & truth),
        duplicates=sum(lake.accepted.values()) - len(lake.accepted),
        over_budget=0,
        unexpected=len(set(lake.accepted) - truth),
        tolerated_duplicates=len(doubled & unrecorded),
    )
    ROWS.append(outcome)
    assert len(truth) > 10_000
    assert 3_000 <= len(accepted_before_kill) < len(truth)
    assert max(lake.accepted.values()) <= 2
    assert doubled <= unrecorded, f"{len(doubled - unrecorded)} resent that were recorded"
    assert outcome.clean, outcome
