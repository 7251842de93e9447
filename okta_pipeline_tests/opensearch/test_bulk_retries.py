"""The loader's retry bookkeeping, driven by a scripted `_bulk` endpoint.

The real node cannot be made to answer 503 for one document on demand; this double answers
opensearch-py's bulk calls from a script, so every path (retried 429, retried 5xx, a 4xx of the
event's own, a failure that outlasts every retry) is exercised. The real-node behaviour of the
same loader is tested in test_loading.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from opensearchpy.exceptions import TransportError
from opensearchpy.serializer import JSONSerializer

from okta_pipeline.lib.okta_simulator.events import format_published
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows

WINDOW = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


class ScriptedBulk:
    """Answers each document with the next status scripted for its id (201 once exhausted)."""

    def __init__(self, script: dict[str, list[int]]) -> None:
        self.script = {key: list(statuses) for key, statuses in script.items()}
        self.transport = SimpleNamespace(serializer=JSONSerializer())
        self.attempts: defaultdict[str, int] = defaultdict(int)

    def bulk(self, body: Any, **_: Any) -> dict[str, Any]:
        lines = body if isinstance(body, list) else body.splitlines()
        items = []
        for line in lines[::2]:
            action = json.loads(line)["create"]
            self.attempts[action["_id"]] += 1
            statuses = self.script.get(action["_id"], [])
            status = statuses.pop(0) if statuses else 201
            outcome: dict[str, Any] = {
                "_index": action["_index"],
                "_id": action["_id"],
                "status": status,
            }
            if status >= 300:
                outcome["error"] = {
                    "type": "mapper_parsing_exception"
                    if status == 400
                    else "es_rejected_execution_exception",
                    "reason": "scripted",
                }
            items.append({"create": outcome})
        return {
            "took": 1,
            "errors": any(i["create"]["status"] >= 300 for i in items),
            "items": items,
        }


def event(uuid: str) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "published": format_published(int(WINDOW.timestamp() * 1000)),
        "eventType": "x",
    }


def test_every_outcome_is_counted_once(tmp_path: Path) -> None:
    client = ScriptedBulk(
        {
            "throttled": [429, 429, 201],
            "flaky": [503, 201],
            "exists": [409],
            "bad": [400],
            "down": [503] * 20,
        }
    )
    events = [event(u) for u in ("fine", "throttled", "flaky", "exists", "bad", "down")]
    dead = DeadLetters(tmp_path / "dead.jsonl.gz")
    report = load_windows(
        client,  # type: ignore[arg-type]  # answers the one call the loader makes
        [(WINDOW, events)],
        "okta-logs",
        dead,
        max_retries=3,
        initial_backoff=0,
        sleep=lambda _: None,
    )
    load = report.windows[WINDOW]
    assert (load.indexed, load.unchanged, load.dead_lettered, load.failed) == (3, 1, 1, 1)
    assert report.dead_letter_reasons == {"mapper_parsing_exception (400): scripted": 1}
    assert dead.count == 1, "an event the cluster kept refusing is not a dead letter"
    assert "1 events were refused with 429 or 5xx after every retry" in report.summary()
    assert client.attempts["flaky"] == 2 and client.attempts["fine"] == 1


class StormyBulk(ScriptedBulk):
    """Answers every item 429 until the fake clock passes `until`, and records each call's ids;
    with `whole_request`, the whole request is refused instead (as a coordinating node does)."""

    def __init__(self, until: float, whole_request: bool = False) -> None:
        super().__init__({})
        self.now = 0.0
        self.until = until
        self.whole_request = whole_request
        self.sleeps: list[float] = []
        self.calls: list[list[str]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def bulk(self, body: Any, **kwargs: Any) -> dict[str, Any]:
        ids = [json.loads(line)["create"]["_id"] for line in body.splitlines()[::2]]
        self.calls.append(ids)
        if self.now < self.until:
            if self.whole_request:
                raise TransportError(429, "too_many_requests", {"error": "throttled"})
            self.script = {i: [429] for i in ids}
        return super().bulk(body, **kwargs)


def storm_events(count: int) -> list[dict[str, Any]]:
    return [event(f"e{n:03d}") for n in range(count)]


def test_a_ten_minute_429_storm_slows_the_load_and_loses_nothing(tmp_path: Path) -> None:
    client = StormyBulk(until=600)
    dead = DeadLetters(tmp_path / "dead.jsonl.gz")
    report = load_windows(
        client,  # type: ignore[arg-type]
        [(WINDOW, storm_events(30))],
        "okta-logs",
        dead,
        chunk_bytes=64 * 1024 // 32,  # a few events per chunk
        sleep=client.sleep,
    )
    load = report.windows[WINDOW]
    assert (load.indexed, load.failed, load.dead_lettered, dead.count) == (30, 0, 0, 0)
    # Exponential backoff from half a second, capped at 30 s, until the storm passed.
    assert client.sleeps[:8] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert set(client.sleeps[6:]) == {30} and sum(client.sleeps) >= 600
    # Back-pressure: no later chunk was sent before the first was taken in full.
    first = client.calls[0]
    taken_at = max(n for n, ids in enumerate(client.calls) if ids == first)
    assert all(ids == first for ids in client.calls[: taken_at + 1])
    assert len(client.calls) > taken_at + 1


def test_a_whole_request_refused_with_429_is_retried_not_fatal(tmp_path: Path) -> None:
    client = StormyBulk(until=3, whole_request=True)
    report = load_windows(
        client,  # type: ignore[arg-type]
        [(WINDOW, storm_events(5))],
        "okta-logs",
        DeadLetters(tmp_path / "dead.jsonl.gz"),
        sleep=client.sleep,
    )
    assert report.windows[WINDOW].indexed == 5
    assert client.sleeps == [0.5, 1, 2]


def test_a_storm_longer_than_the_budget_counts_events_failed_never_dead(tmp_path: Path) -> None:
    client = StormyBulk(until=float("inf"))
    dead = DeadLetters(tmp_path / "dead.jsonl.gz")
    report = load_windows(
        client,  # type: ignore[arg-type]
        [(WINDOW, storm_events(4))],
        "okta-logs",
        dead,
        sleep=client.sleep,
        retry_budget_seconds=120,
    )
    load = report.windows[WINDOW]
    assert (load.indexed, load.failed, dead.count) == (0, 4, 0)
    assert 120 <= sum(client.sleeps) < 150
    assert "4 events were refused with 429 or 5xx after every retry" in report.summary()
