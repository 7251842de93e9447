"""Where the simulator's events come from: a seeded synthetic org, or recorded events replayed.

Both produce the same events for the same inputs, at any time, without storing a whole day:
the synthetic org regenerates any minute from (seed, minute) on demand.
"""

from __future__ import annotations

import bisect
import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from okta_pipeline.lib.okta_simulator.activity import ORDINARY_ACTIVITIES
from okta_pipeline.lib.okta_simulator.directory import build_directory
from okta_pipeline.lib.okta_simulator.events import Event, format_published
from okta_pipeline.lib.okta_simulator.operations import Operation, operations_in_minute
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS, Scenario

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class StoredEvent:
    published_ms: int
    uuid: str
    persisted_ms: int
    """When Okta made it queryable; polling filters on this, and bounded queries see an event
    only once it is persisted."""
    event: Event
    scenario: str | None = None
    incident: str | None = None
    """One occurrence of a scenario, e.g. `brute_force#493712`: the events of one attack."""

    @property
    def sort_key(self) -> tuple[int, str]:
        return (self.published_ms, self.uuid)


@dataclass(frozen=True)
class Incident:
    """One injected attack: its scenario (and the detection meant to find it) and its events."""

    id: str
    scenario: Scenario
    uuids: frozenset[str]


class EventSource(Protocol):
    max_persistence_delay_ms: int

    def published_between(self, start_ms: int, end_ms: int) -> Iterator[StoredEvent]:
        """Events with start <= published < end, ordered by (published, uuid)."""
        ...


@dataclass(frozen=True)
class PersistenceDelay:
    """Most events are queryable within a second or two; a few arrive minutes late."""

    fast_max_ms: int = 1_500
    late_fraction: float = 0.02
    late_max_ms: int = 10 * MINUTE_MS

    def draw(self, rng: random.Random) -> int:
        if rng.random() < self.late_fraction:
            return rng.randint(self.fast_max_ms, max(self.fast_max_ms, self.late_max_ms))
        return rng.randint(20, self.fast_max_ms)


def daily_rhythm(minute_index: int) -> float:
    """Relative activity at a UTC minute: busy in EU/US working hours, quieter on weekends."""
    hour = (minute_index // 60) % 24 + (minute_index % 60) / 60
    weekday = (minute_index // (24 * 60) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    level = 0.25 + 1.6 * math.exp(-(((hour - 14.5) / 4.5) ** 2))
    return level * (0.45 if weekday >= 5 else 1.0)


_MEAN_WEEKDAY_RHYTHM = sum(daily_rhythm(m) for m in range(24 * 60)) / (24 * 60)


class SimulatedOrg:
    """A deterministic org: the same seed gives the same events, uuids and delays, always."""

    def __init__(
        self,
        seed: int = 1,
        events_per_minute: float = 60.0,
        delay: PersistenceDelay | None = None,
        scenario_period_minutes: int | None = 60,
        directory_size: int = 250,
        scenarios: tuple[Scenario, ...] = SCENARIOS,
        operations: tuple[Operation, ...] = (),
    ) -> None:
        """`scenarios` are the attacks injected; extra ones go after SCENARIOS, so that the
        occurrences of the first ones (seeded by their position) stay where they were.
        `operations` are rare benign operations (token rotations, a log poller at the rate
        limit, ...) at a rate per org-day, from a random stream of their own."""
        self.seed = seed
        self.scenarios = scenarios
        self.operations = operations
        self.events_per_minute = events_per_minute
        self.delay = delay or PersistenceDelay()
        self.max_persistence_delay_ms = self.delay.late_max_ms
        self.scenario_period_ms = (
            scenario_period_minutes * MINUTE_MS if scenario_period_minutes else None
        )
        self.directory = build_directory(seed, directory_size)
        self._activities = [activity for activity, _ in ORDINARY_ACTIVITIES]
        self._weights = [weight for _, weight in ORDINARY_ACTIVITIES]
        self._minute = lru_cache(maxsize=512)(self._generate_minute)
        self._occurrence = lru_cache(maxsize=256)(self._generate_occurrence)

    def published_between(self, start_ms: int, end_ms: int) -> Iterator[StoredEvent]:
        for minute in range(start_ms // MINUTE_MS, -(-end_ms // MINUTE_MS)):
            for stored in self._minute(minute):
                if start_ms <= stored.published_ms < end_ms:
                    yield stored

    def incidents_between(self, start_ms: int, end_ms: int) -> dict[str, Incident]:
        """The attacks whose every event was published in [start, end), by incident."""
        events: dict[str, list[StoredEvent]] = {}
        for stored in self.published_between(start_ms, end_ms):
            if stored.incident:
                events.setdefault(stored.incident, []).append(stored)
        incidents = {}
        for incident, members in events.items():
            name, occurrence = incident.rsplit("#", 1)
            index = next(i for i, s in enumerate(self.scenarios) if s.name == name)
            if len(members) == len(self._occurrence(index, int(occurrence))):
                incidents[incident] = Incident(
                    incident, self.scenarios[index], frozenset(m.uuid for m in members)
                )
        return incidents

    def truth_between(self, start_ms: int, end_ms: int) -> dict[str, int]:
        """Scenario name -> number of its events published in [start, end)."""
        counts = Counter(s.scenario for s in self.published_between(start_ms, end_ms) if s.scenario)
        return dict(sorted(counts.items()))

    def _generate_minute(self, minute: int) -> tuple[StoredEvent, ...]:
        rng = random.Random(f"minute:{self.seed}:{minute}")
        expected = self.events_per_minute * daily_rhythm(minute) / _MEAN_WEEKDAY_RHYTHM
        target = max(0, round(rng.gauss(expected, math.sqrt(expected)))) if expected > 0 else 0
        start = minute * MINUTE_MS
        stored: list[StoredEvent] = []
        while len(stored) < target:
            activity = rng.choices(self._activities, self._weights)[0]
            begin = start + rng.randint(0, 54_000)
            for event in activity(rng, self.directory, begin):
                stored.append(self._store(rng, event, None, minute_end=start + MINUTE_MS))
        if self.operations:
            ops_rng = random.Random(f"operations-delay:{self.seed}:{minute}")
            for event in operations_in_minute(self.seed, minute, self.directory, self.operations):
                stored.append(self._store(ops_rng, event, None, minute_end=start + MINUTE_MS))
        stored.extend(self._scenario_events(minute))
        return tuple(sorted(stored, key=lambda s: s.sort_key))

    def _scenario_events(self, minute: int) -> list[StoredEvent]:
        if self.scenario_period_ms is None:
            return []
        start, end = minute * MINUTE_MS, (minute + 1) * MINUTE_MS
        found: list[StoredEvent] = []
        for index, scenario in enumerate(self.scenarios):
            offset = self._scenario_offset(index, scenario)
            first = (start - offset - scenario.duration_ms) // self.scenario_period_ms
            last = (end - offset) // self.scenario_period_ms
            for occurrence in range(first, last + 1):
                found.extend(
                    s for s in self._occurrence(index, occurrence) if start <= s.published_ms < end
                )
        return found

    def _scenario_offset(self, index: int, scenario: Scenario) -> int:
        assert self.scenario_period_ms is not None
        rng = random.Random(f"offset:{self.seed}:{index}")
        return rng.randint(0, max(0, self.scenario_period_ms - scenario.duration_ms - MINUTE_MS))

    def _generate_occurrence(self, index: int, occurrence: int) -> tuple[StoredEvent, ...]:
        assert self.scenario_period_ms is not None
        scenario = self.scenarios[index]
        rng = random.Random(f"scenario:{self.seed}:{index}:{occurrence}")
        begin = occurrence * self.scenario_period_ms + self._scenario_offset(index, scenario)
        events = scenario.build(rng, self.directory, begin)
        incident = f"{scenario.name}#{occurrence}"
        return tuple(self._store(rng, e, scenario.name, incident=incident) for e in events)

    def _store(
        self,
        rng: random.Random,
        event: Event,
        scenario: str | None,
        minute_end: int | None = None,
        incident: str | None = None,
    ) -> StoredEvent:
        published_ms = _parse_ms(event["published"])
        if minute_end is not None and published_ms >= minute_end:
            # keep an activity inside the minute that generated it, so minutes stay independent
            published_ms = minute_end - 1
            event["published"] = format_published(published_ms)
        return StoredEvent(
            published_ms,
            event["uuid"],
            published_ms + self.delay.draw(rng),
            event,
            scenario,
            incident,
        )


class ReplaySource:
    """Recorded LogEvents (one per line), optionally shifted in time, served as if live."""

    max_persistence_delay_ms = 0

    def __init__(self, path: Path, shift_ms: int = 0) -> None:
        self.skipped: list[str] = []
        events: list[StoredEvent] = []
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                stored = self._load(line, number, shift_ms)
                if stored is not None:
                    events.append(stored)
        events.sort(key=lambda s: s.sort_key)
        self._events = events
        self._keys = [s.published_ms for s in events]

    @classmethod
    def newest_published_ms(cls, path: Path) -> int | None:
        source = cls(path)
        return source._keys[-1] if source._keys else None

    def published_between(self, start_ms: int, end_ms: int) -> Iterator[StoredEvent]:
        low = bisect.bisect_left(self._keys, start_ms)
        high = bisect.bisect_left(self._keys, end_ms)
        yield from self._events[low:high]

    def _load(self, line: str, number: int, shift_ms: int) -> StoredEvent | None:
        try:
            event = json.loads(line)
            published_ms = _parse_ms(event["published"]) + shift_ms
        except (ValueError, KeyError, TypeError) as error:
            self.skipped.append(f"line {number}: {error}")
            return None
        if shift_ms:
            event["published"] = format_published(published_ms)
        return StoredEvent(published_ms, str(event.get("uuid", "")), published_ms, event)


def _parse_ms(published: str) -> int:
    return round(datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp() * 1000)
