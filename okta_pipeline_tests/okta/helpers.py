"""Shared test helpers for the Okta source: a simulator on a real socket, keys, windows."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from okta_pipeline.lib.okta.credentials import public_jwk
from okta_pipeline.lib.okta_simulator.api import SimulatorApp
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import EventSource, StoredEvent

TOKEN = "test-ssws-token-value"
PARTITION_FORMAT = "%Y-%m-%d-%H:%M"


@contextmanager
def running_simulator(
    options: SimulatorOptions | None = None,
    source: EventSource | None = None,
    clock: Callable[[], float] | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> Iterator[tuple[SimulatorApp, str]]:
    """A simulator served over HTTP on 127.0.0.1; yields the app and its base URL. `clock`
    decides what is persisted; `wall_clock` times its rate limit and Date header."""
    options = options or SimulatorOptions()
    if not options.api_tokens:
        options = replace(options, api_tokens=frozenset({TOKEN}))
    clocks = {"clock": clock, "wall_clock": wall_clock}
    app = build_app(options, source=source, **{k: v for k, v in clocks.items() if v})
    with SimulatorServer(app) as server:
        yield app, server.base_url


class WithExtraEvents:
    """A source's events plus `extra` ones (persisted late, malformed...), in published order."""

    def __init__(self, source: EventSource, extra: Iterable[StoredEvent]) -> None:
        self.source = source
        self.extra = sorted(extra, key=lambda s: s.sort_key)
        self.max_persistence_delay_ms = max(
            [
                source.max_persistence_delay_ms,
                *(s.persisted_ms - s.published_ms for s in self.extra),
            ]
        )

    def published_between(self, start_ms: int, end_ms: int) -> Iterator[StoredEvent]:
        extra = [s for s in self.extra if start_ms <= s.published_ms < end_ms]
        yield from heapq.merge(
            self.source.published_between(start_ms, end_ms), extra, key=lambda s: s.sort_key
        )


def weekday_noon_range(span: timedelta, now: datetime | None = None) -> tuple[datetime, datetime]:
    """`span` ending at 12:00 UTC on the latest weekday at least two hours past. The simulated
    org's activity follows the time of day and the week: a range fixed on both holds about the
    same number of events whenever the tests run (about 0.9 of the mean rate for six hours)."""
    end = (now or datetime.now(UTC)).replace(hour=12, minute=0, second=0, microsecond=0)
    while end > (now or datetime.now(UTC)) - timedelta(hours=2) or end.weekday() >= 5:
        end -= timedelta(days=1)
    return end - span, end


def recent_window(
    hours_ago: float = 3.0, span: timedelta = timedelta(hours=1)
) -> tuple[datetime, datetime]:
    """A 5-minute-aligned range that ended long enough ago that every event is persisted."""
    end = datetime.now(UTC) - timedelta(hours=hours_ago)
    end = end.replace(minute=end.minute - end.minute % 5, second=0, microsecond=0)
    return end - span, end


def rsa_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _pem(key)


def ec_key_pem() -> str:
    return _pem(ec.generate_private_key(ec.SECP256R1()))


def _pem(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


def public_jwk_of(private_pem: str) -> dict[str, Any]:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return dict(public_jwk(key))


def range_tags(start: datetime, end: datetime) -> dict[str, str]:
    """Run tags that make `materialize` run one partition range [start, end)."""
    return {
        "dagster/asset_partition_range_start": start.strftime(PARTITION_FORMAT),
        "dagster/asset_partition_range_end": (end - timedelta(minutes=5)).strftime(
            PARTITION_FORMAT
        ),
    }
