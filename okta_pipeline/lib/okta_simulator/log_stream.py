"""Okta's Log Streaming to Amazon EventBridge, simulated: `/api/v1/logStreams` and delivery.

Like Okta's, delivery is best effort and at least once: each event goes out a few seconds after
it is published, sometimes twice, sometimes out of order, sometimes never, and nothing is
replayed. Two failed deliveries in a row deactivate the stream, and the org's System Log gets
`system.log_stream.lifecycle.deactivate` (polling finds it; the stream, being off, does not).
Delivery runs on the simulated clock: `deliver_until(now_ms)` sends what is due by then.
"""

from __future__ import annotations

import heapq
import json
import random
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from okta_pipeline.lib.okta_simulator.events import event_uuid, format_published, system_actor
from okta_pipeline.lib.okta_simulator.sources import EventSource, StoredEvent

LOG_STREAMS_PATH = "/api/v1/logStreams"
DETAIL_TYPE = "SystemLog"
EVENT_TYPE = "aws_eventbridge"
MAX_ENTRIES_PER_PUT = 10  # EventBridge PutEvents takes at most 10 entries
FAILURES_BEFORE_DEACTIVATION = 2
WINDOW_MS = 5 * 60_000
_EVENT_SOURCE_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,75}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class LogStreamError(ValueError):
    """A log stream request Okta would refuse (400); the message names the field."""


class Publisher(Protocol):
    def put(self, entries: list[dict[str, Any]]) -> int:
        """Send PutEvents entries; return how many EventBridge failed. Raises when unreachable."""
        ...


@dataclass(frozen=True)
class DeliveryFaults:
    """How best effort the stream is. Delays are from `published` to the PutEvents call."""

    delay_min_ms: int = 1_000
    delay_max_ms: int = 8_000
    duplicate_fraction: float = 0.03
    drop_fraction: float = 0.01


@dataclass
class StreamStats:
    delivered: int = 0
    duplicates: int = 0
    dropped: int = 0
    failed_puts: int = 0
    late: int = 0
    """Deliveries after the 5-minute window of the event's `published` had closed."""
    dropped_uuids: set[str] = field(default_factory=set)


class ExtendableSource:
    """An event source plus events the simulator itself logs (a stream's lifecycle events)."""

    def __init__(self, base: EventSource) -> None:
        self.base = base
        self.max_persistence_delay_ms = base.max_persistence_delay_ms
        self._extra: list[StoredEvent] = []
        self._lock = threading.Lock()

    def append(self, stored: StoredEvent) -> None:
        with self._lock:
            self._extra.append(stored)
            self._extra.sort(key=lambda s: s.sort_key)

    def publish(self, events: list[dict[str, Any]], at_ms: int, step_ms: int) -> int:
        """Log `events` as published from `at_ms`, `step_ms` apart (persisted at once);
        return the last one's `published` in epoch milliseconds."""
        published = at_ms
        for n, event in enumerate(events):
            published = at_ms + n * step_ms
            event["published"] = format_published(published)
            self.append(StoredEvent(published, event["uuid"], published, event))
        return published

    def published_between(self, start_ms: int, end_ms: int) -> Iterator[StoredEvent]:
        with self._lock:
            extra = [s for s in self._extra if start_ms <= s.published_ms < end_ms]
        yield from heapq.merge(
            self.base.published_between(start_ms, end_ms), extra, key=lambda s: s.sort_key
        )


@dataclass
class _Stream:
    id: str
    name: str
    settings: dict[str, str]
    created_ms: int
    status: str = "ACTIVE"
    last_updated_ms: int = 0
    failures: int = 0

    def source(self, org: str) -> str:
        return f"aws.partner/okta.com/{org}/{self.settings['eventSourceName']}"

    def resource(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": EVENT_TYPE,
            "name": self.name,
            "status": self.status,
            "created": format_published(self.created_ms),
            "lastUpdated": format_published(self.last_updated_ms or self.created_ms),
            "settings": dict(self.settings),
            "_links": {
                "self": {"href": f"{base_url}{LOG_STREAMS_PATH}/{self.id}", "method": "GET"},
            },
        }


class LogStreamer:
    """The org's log streams and their deliveries (one publisher per stream)."""

    def __init__(
        self,
        source: ExtendableSource,
        org: str,
        connect: Callable[[dict[str, str]], Publisher],
        faults: DeliveryFaults | None = None,
        seed: int = 1,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        """`connect(settings)` gives the publisher for a stream's settings (its account,
        region and event source name); `clock_ms` stamps API changes (defaults to 0)."""
        self.source = source
        self.org = org
        self.connect = connect
        self.faults = faults or DeliveryFaults()
        self.stats = StreamStats()
        self._rng = random.Random(seed)
        self._clock_ms = clock_ms or (lambda: 0)
        self._streams: dict[str, _Stream] = {}
        self._publishers: dict[str, Publisher] = {}
        self._cursor_ms: dict[str, int] = {}
        self._pending: list[tuple[int, int, str, int, dict[str, Any]]] = []
        self._sequence = 0
        self._lock = threading.RLock()

    def set_clock(self, clock_ms: Callable[[], int]) -> None:
        """Stamp API changes from now on with `clock_ms` (a simulated clock, or the wall's)."""
        self._clock_ms = clock_ms

    def skip_to(self, now_ms: int) -> None:
        """Stream only what is published from `now_ms` on (a simulated history gave way to the
        wall clock): what is already scheduled is still delivered."""
        with self._lock:
            for stream_id, cursor in self._cursor_ms.items():
                self._cursor_ms[stream_id] = max(cursor, now_ms)

    # -- the API ------------------------------------------------------------------------

    def create(self, body: Any, base_url: str) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("type") != EVENT_TYPE:
            raise LogStreamError(f"type: only {EVENT_TYPE} is supported by this simulator")
        name = body.get("name")
        settings = body.get("settings")
        if not isinstance(name, str) or not name.strip():
            raise LogStreamError("name: required")
        if not isinstance(settings, dict):
            raise LogStreamError("settings: required (accountId, eventSourceName, region)")
        if not _ACCOUNT_ID.match(str(settings.get("accountId", ""))):
            raise LogStreamError("settings.accountId: a 12-digit AWS account id")
        if not _EVENT_SOURCE_NAME.match(str(settings.get("eventSourceName", ""))):
            raise LogStreamError("settings.eventSourceName: 1-75 of A-Z a-z 0-9 . _ -")
        if not isinstance(settings.get("region"), str):
            raise LogStreamError("settings.region: required")
        now = self._clock_ms()
        stream = _Stream(
            id="0oa" + secrets.token_hex(8),
            name=name,
            settings={k: str(settings[k]) for k in ("accountId", "eventSourceName", "region")},
            created_ms=now,
        )
        with self._lock:
            self._streams[stream.id] = stream
            self._publishers[stream.id] = self.connect(stream.settings)
            self._cursor_ms[stream.id] = now
        return stream.resource(base_url)

    def all(self, base_url: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s.resource(base_url) for s in self._streams.values()]

    def get(self, stream_id: str, base_url: str) -> dict[str, Any] | None:
        with self._lock:
            stream = self._streams.get(stream_id)
            return stream.resource(base_url) if stream else None

    def set_status(self, stream_id: str, active: bool, base_url: str) -> dict[str, Any] | None:
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                return None
            now = self._clock_ms()
            if active and stream.status != "ACTIVE":
                stream.status, stream.failures = "ACTIVE", 0
                self._cursor_ms[stream_id] = max(self._cursor_ms[stream_id], now)  # no replay
            elif not active and stream.status == "ACTIVE":
                self._deactivate(stream, now, reason="deactivated by an administrator")
            stream.last_updated_ms = now
            return stream.resource(base_url)

    # -- delivery -----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Deliveries scheduled and not yet made (copies of a duplicated event included)."""
        return len(self._pending)

    def deliver_until(self, now_ms: int) -> StreamStats:
        """Schedule the events published since the last call and send what is due."""
        with self._lock:
            for stream in self._streams.values():
                if stream.status == "ACTIVE":
                    self._schedule(stream, now_ms)
            due: dict[str, list[dict[str, Any]]] = {}
            while self._pending and self._pending[0][0] <= now_ms:
                due_ms, _, stream_id, published_ms, entry = heapq.heappop(self._pending)
                if due_ms >= published_ms - published_ms % WINDOW_MS + WINDOW_MS:
                    self.stats.late += 1
                due.setdefault(stream_id, []).append(entry)
            for stream_id, entries in due.items():
                self._send(self._streams[stream_id], entries, now_ms)
            return self.stats

    def _schedule(self, stream: _Stream, now_ms: int) -> None:
        since = self._cursor_ms[stream.id]
        if now_ms <= since:
            return
        for stored in self.source.published_between(since, now_ms):
            if self._rng.random() < self.faults.drop_fraction:
                self.stats.dropped += 1
                self.stats.dropped_uuids.add(stored.uuid)
                continue
            copies = 2 if self._rng.random() < self.faults.duplicate_fraction else 1
            self.stats.duplicates += copies - 1
            for _ in range(copies):
                delay = self._rng.randint(self.faults.delay_min_ms, self.faults.delay_max_ms)
                self._sequence += 1
                heapq.heappush(
                    self._pending,
                    (
                        stored.published_ms + delay,
                        self._sequence,
                        stream.id,
                        stored.published_ms,
                        self._entry(stream, stored),
                    ),
                )
        self._cursor_ms[stream.id] = now_ms

    def _entry(self, stream: _Stream, stored: StoredEvent) -> dict[str, Any]:
        return {
            "Source": stream.source(self.org),
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(stored.event, ensure_ascii=False, separators=(",", ":")),
            "Resources": [],
        }

    def _send(self, stream: _Stream, entries: list[dict[str, Any]], now_ms: int) -> None:
        if stream.status != "ACTIVE":
            return  # deactivated while these waited: Okta does not replay them
        publisher = self._publishers[stream.id]
        for offset in range(0, len(entries), MAX_ENTRIES_PER_PUT):
            batch = entries[offset : offset + MAX_ENTRIES_PER_PUT]
            try:
                failed = publisher.put(batch)
            except Exception:  # any transport failure is a failed delivery
                failed = len(batch)
            if not failed:
                stream.failures = 0
                self.stats.delivered += len(batch)
                continue
            self.stats.failed_puts += 1
            stream.failures += 1
            if stream.failures >= FAILURES_BEFORE_DEACTIVATION:
                self._deactivate(stream, now_ms, reason="two failed deliveries")
                return
            self.stats.delivered += len(batch) - failed

    def _deactivate(self, stream: _Stream, now_ms: int, reason: str) -> None:
        stream.status = "INACTIVE"
        stream.last_updated_ms = now_ms
        self._pending = [p for p in self._pending if p[2] != stream.id]
        heapq.heapify(self._pending)
        self.source.append(self._lifecycle_event(stream, now_ms, reason))

    def _lifecycle_event(self, stream: _Stream, now_ms: int, reason: str) -> StoredEvent:
        directory = getattr(self.source.base, "directory", None)
        actor = (
            system_actor(directory)
            if directory is not None
            else {
                "id": "0oa_okta_system",
                "type": "SystemPrincipal",
                "alternateId": "system@okta.com",
                "displayName": "Okta System",
                "detailEntry": None,
            }
        )
        uuid = event_uuid(self._rng)
        event: dict[str, Any] = {
            "actor": actor,
            "client": {
                "userAgent": None,
                "zone": None,
                "device": None,
                "id": None,
                "ipAddress": None,
                "geographicalContext": None,
            },
            "device": None,
            "authenticationContext": {},
            "displayMessage": "Log stream deactivated",
            "eventType": "system.log_stream.lifecycle.deactivate",
            "outcome": {"result": "SUCCESS", "reason": reason},
            "published": format_published(now_ms),
            "securityContext": {},
            "severity": "WARN",
            "debugContext": {"debugData": {}},
            "legacyEventType": None,
            "transaction": {"type": "JOB", "id": secrets.token_hex(10), "detail": {}},
            "uuid": uuid,
            "version": "0",
            "request": {"ipChain": []},
            "target": [
                {
                    "id": stream.id,
                    "type": "LogStream",
                    "alternateId": stream.name,
                    "displayName": stream.name,
                    "detailEntry": None,
                }
            ],
        }
        return StoredEvent(now_ms, uuid, now_ms, event)


class EventBridgePublisher:
    """PutEvents to a bus (on AWS the partner event bus; locally a custom bus standing in)."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def put(self, entries: list[dict[str, Any]]) -> int:
        answer = self.client.put_events(
            Entries=[{**entry, "EventBusName": self.bus_name} for entry in entries]
        )
        return int(answer.get("FailedEntryCount", 0))
