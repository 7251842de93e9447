"""Assemble a simulator from plain options (used by the CLI, the demo and the tests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from okta_pipeline.lib.okta_simulator.api import SimulatorApp
from okta_pipeline.lib.okta_simulator.auth import Authenticator, OAuthClient
from okta_pipeline.lib.okta_simulator.rate_limit import RateLimiter
from okta_pipeline.lib.okta_simulator.sources import (
    EventSource,
    PersistenceDelay,
    ReplaySource,
    SimulatedOrg,
    StoredEvent,
)


@dataclass(frozen=True)
class SimulatorOptions:
    seed: int = 1
    events_per_minute: float = 60.0
    attacks: bool = True
    scenario_period_minutes: int = 60
    rate_limit_per_window: int = 50
    rate_limit_window_seconds: int = 60
    max_in_flight: int = 15
    persistence: PersistenceDelay = field(default_factory=PersistenceDelay)
    api_tokens: frozenset[str] = frozenset()
    oauth_clients: Mapping[str, OAuthClient] = field(default_factory=dict)
    replay: Path | None = None
    replay_shift_ms: int = 0
    truth_out: Path | None = None


class TruthRecorder:
    """Appends each served scenario event (once) to a JSON Lines file of ground truth."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def record(self, served: list[StoredEvent]) -> None:
        lines = []
        with self._lock:
            for stored in served:
                if stored.scenario and stored.uuid not in self._seen:
                    self._seen.add(stored.uuid)
                    lines.append(
                        json.dumps(
                            {
                                "scenario": stored.scenario,
                                "incident": stored.incident,
                                "uuid": stored.uuid,
                                "published": stored.event.get("published"),
                                "eventType": stored.event.get("eventType"),
                            }
                        )
                    )
            if lines:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write("\n".join(lines) + "\n")


def build_source(options: SimulatorOptions) -> EventSource:
    if options.replay is not None:
        return ReplaySource(options.replay, shift_ms=options.replay_shift_ms)
    return SimulatedOrg(
        seed=options.seed,
        events_per_minute=options.events_per_minute,
        delay=options.persistence,
        scenario_period_minutes=options.scenario_period_minutes if options.attacks else None,
    )


def build_app(
    options: SimulatorOptions,
    source: EventSource | None = None,
    clock: Callable[[], float] = time.time,
    wall_clock: Callable[[], float] = time.time,
) -> SimulatorApp:
    """`clock` is the simulated "now" that decides which events are persisted yet; `wall_clock`
    times the rate limit and the Date header."""
    recorder = TruthRecorder(options.truth_out) if options.truth_out else None
    return SimulatorApp(
        source or build_source(options),
        Authenticator(options.api_tokens, options.oauth_clients),
        RateLimiter(
            options.rate_limit_per_window,
            options.rate_limit_window_seconds,
            options.max_in_flight,
            clock=wall_clock,
        ),
        clock=clock,
        wall_clock=wall_clock,
        on_served=recorder.record if recorder else None,
    )
