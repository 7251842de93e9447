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
