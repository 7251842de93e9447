"""One row of the fault suite's table: what each scenario should have stored, and what it did."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from opensearchpy import OpenSearch

from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.okta_simulator.sources import EventSource
from okta_pipeline_tests.opensearch.loading_helpers import count

COLUMNS = ("scenario", "expected", "landed", "indexed", "duplicates", "over budget", "clean")


@dataclass(frozen=True)
class FaultOutcome:
    scenario: str
    expected: int
    """Distinct events the simulator published in the scenario's windows (its truth)."""
    landed: int
    """Distinct uuids of the truth that were landed."""
    indexed: int
    duplicates: int
    """Landed lines beyond one per uuid."""
    over_budget: int
    """Okta requests refused for the rate limit beyond the share, or sent before a reset."""
    unexpected: int = 0
    """Landed uuids the simulator never published in those windows."""
    tolerated_duplicates: int = 0
    """Duplicates the scenario allows and has checked one by one (a destination that cannot
    deduplicate is sent again what a killed run had accepted but not yet recorded)."""

    @property
    def clean(self) -> bool:
        return (
            self.expected == self.landed == self.indexed
            and self.duplicates <= self.tolerated_duplicates
            and self.over_budget == 0
            and self.unexpected == 0
        )

    def cells(self) -> tuple[str, ...]:
        numbers = (self.expected, self.landed, self.indexed, self.duplicates, self.over_budget)
        return (self.scenario, *map(str, numbers), "yes" if self.clean else "NO")


ROWS: list[FaultOutcome] = []
"""Every scenario run in this session, in order, for the summary at the end."""


def measure(
    scenario: str,
    truth: set[str],
    zone: LandingZone,
    windows: Iterable[tuple[datetime, datetime]],
    client: OpenSearch,
    prefix: str,
    over_budget: int,
) -> FaultOutcome:
    """Compare what was landed under `zone` in `windows` and indexed under `prefix` with
    `truth`, record the row, and return it."""
    landed = [uuid for start, end in windows for uuid in landed_uuids(zone, start, end)]
    distinct = set(landed)
    outcome = FaultOutcome(
        scenario=scenario,
        expected=len(truth),
        landed=len(distinct & truth),
        indexed=count(client, prefix),
        duplicates=len(landed) - len(distinct),
        over_budget=over_budget,
        unexpected=len(distinct - truth),
    )
    ROWS.append(outcome)
    return outcome


def published_uuids(source: EventSource, windows: Iterable[tuple[datetime, datetime]]) -> set[str]:
    """The truth: uuids of the events `source` publishes in each [start, end) of `windows`."""
    return {
        stored.uuid
        for start, end in windows
        for stored in source.published_between(
            int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        )
    }


def landed_uuids(zone: LandingZone, start: datetime, end: datetime) -> list[str]:
    return [str(event.get("uuid")) for event in zone.iter_window_events(start, end)]


def landed_windows(root: Path, dataset: str = "okta_system_log") -> set[datetime]:
    """The start of every window with a landed file under a directory landing zone."""
    return {
        datetime.strptime(f"{path.parent.name[3:]} {path.name[:5]}", "%Y-%m-%d %H-%M").replace(
            tzinfo=UTC
        )
        for path in (root / dataset).glob("dt=*/*.jsonl.gz")
    }


def render(rows: Iterable[FaultOutcome]) -> str:
    table = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    )
