"""Bulk-index landed Okta events: `_id` = uuid, index from `published`, nothing lost.

Documents are sent with `create`: a document that already exists (a re-run) comes back as 409
and counts as unchanged, so re-runs converge without rewriting anything. Items rejected with
429 are retried by opensearch-py's streaming helper; items rejected with 5xx are retried here
with backoff; items rejected for a 4xx of their own, and events that cannot be placed (no uuid,
unparseable `published`), go to the dead-letter file with the reason.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors
from opensearchpy.helpers import streaming_bulk

from okta_pipeline.lib.landing import Event, parse_published
from okta_pipeline.lib.opensearch.okta_index import index_name

DEFAULT_CHUNK_BYTES = 5 * 1024 * 1024
MAX_EXAMPLES = 5
MAX_ID_BYTES = 512  # OpenSearch rejects the whole bulk request over a longer _id
MAX_EVENT_BYTES = 90 * 1024 * 1024  # under the default http.max_content_length of 100 MB
# Item errors that say the cluster or index cannot take writes at all: no event is at fault,
# so the load stops (nothing is dead-lettered) and says what to fix.
CLUSTER_PROBLEMS = {
    "cluster_block_exception": "the index or cluster is blocked for writes (often a full "
    "disk: free space, then clear index.blocks.read_only_allow_delete)",
    "index_closed_exception": "the target index is closed: open it",
    "security_exception": "the credentials may not write to this index: grant them "
    "create_doc/index on the okta-logs-* indices",
    "index_not_found_exception": "the index does not exist and may not be auto-created: allow "
    "auto-creation for okta-logs-* or create the daily index",
}


class LoadInterruptedError(RuntimeError):
    """OpenSearch became unreachable mid-load; what was indexed stays, a re-run finishes it."""


@dataclass
class WindowLoad:
    window: datetime
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return round(max(0.0, self.finished - self.started), 3)


@dataclass
class LoadReport:
    windows: dict[datetime, WindowLoad] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    dead_letter_path: Path | None = None

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def summary(self) -> str:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in self.failures.most_common())
        examples = "; ".join(self.examples)
        where = f" Dead-lettered to {self.dead_letter_path}." if self.dead_letter_path else ""
        return (
            f"{self.failed} events could not be indexed ({reasons}). Examples: {examples}.{where}"
        )


class DeadLetters:
    """Events that could not be indexed, with why; appended as gzip members of one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def add(self, window: datetime, reason: str, event: Event) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"window": window.isoformat(), "reason": reason, "event": event}
        with gzip.open(self.path, "at", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1


def validate(event: Event) -> tuple[str, datetime] | str:
    """The (uuid, published) that place an event, or the reason it cannot be placed."""
    uuid = event.get("uuid")
    if not isinstance(uuid, str) or not uuid.strip():
        return "missing uuid"
    if len(uuid.encode()) > MAX_ID_BYTES:
        return f"uuid longer than {MAX_ID_BYTES} bytes"
    published = parse_published(event)
    if published is None:
        return "unparseable published"
    return uuid, published


def load_windows(
    client: OpenSearch,
    windows: Iterable[tuple[datetime, list[Event]]],
    prefix: str,
    dead_letters: DeadLetters,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_retries: int = 5,
    initial_backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> LoadReport:
    report = LoadReport()
    # (index, id) -> the events sent under it, in order (the same uuid twice in one load is
    # possible with hand-made input: the second is answered 409 and counts as unchanged)
    pending: dict[tuple[str, str], list[tuple[WindowLoad, Event]]] = {}

    def record_failure(load: WindowLoad, reason: str, event: Event) -> None:
        load.failed += 1
        report.failures[reason] += 1
        if len(report.examples) < MAX_EXAMPLES:
            report.examples.append(
                f"uuid={event.get('uuid')!r} published={event.get('published')!r}: {reason}"
            )
        dead_letters.add(load.window, reason, event)
        report.dead_letter_path = dead_letters.path

    def actions() -> Iterator[dict[str, Any]]:
        for window, events in windows:
            load = report.windows.setdefault(window, WindowLoad(window))
            load.started = time.monotonic()
            load.finished = load.started
            for event in events:
                placed = validate(event)
                if isinstance(placed, str):
                    record_failure(load, placed, event)
                    continue
                uuid, published = placed
                size = len(json.dumps(event, ensure_ascii=False).encode())
                if size > MAX_EVENT_BYTES:
                    record_failure(load, "event larger than a bulk request may be", event)
                    continue
                index = index_name(prefix, published)
                pending.setdefault((index, uuid), []).append((load, event))
                load.bytes += size
                yield {"_op_type": "create", "_index": index, "_id": uuid, "_source": event}

    retry: list[dict[str, Any]] = []

    def bulk(batch: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send a stream of actions; return those to retry (rejected with 429 or 5xx)."""
        again: list[dict[str, Any]] = []
        _run_bulk(
            client,
            batch,
            chunk_bytes,
            max_retries,
            initial_backoff,
            pending,
            again,
            record_failure,
            report,
        )
        return again

    retry = bulk(actions())
    for attempt in range(max_retries):
        if not retry:
            break
        sleep(min(initial_backoff * 2**attempt, 30.0))
        retry = bulk(iter(retry))
    for action in retry:  # still failing after every retry
        load, event = _take(pending, (action["_index"], action["_id"]))
        record_failure(load, "rejected with 429 or 5xx after every retry", event)
    return report


def _run_bulk(
    client: OpenSearch,
    actions: Iterator[dict[str, Any]],
    chunk_bytes: int,
    max_retries: int,
    initial_backoff: float,
    pending: dict[tuple[str, str], list[tuple[WindowLoad, Event]]],
    retry: list[dict[str, Any]],
    record_failure: Callable[[WindowLoad, str, Event], None],
    report: LoadReport,
) -> None:
    results = streaming_bulk(
        client,
        actions,
        chunk_size=10_000,
        max_chunk_bytes=chunk_bytes,
        raise_on_error=False,
        raise_on_exception=True,
        max_retries=max_retries,
        initial_backoff=initial_backoff,  # type: ignore[arg-type]  # typed int, sleeps a float fine
        max_backoff=30,
        yield_ok=True,
    )
    try:
        for ok, item in results:
            outcome = item.get("create") or item.get("index") or {}
            key = (str(outcome.get("_index")), str(outcome.get("_id")))
            load, event = pending[key][0]
            load.finished = time.monotonic()
            status = int(outcome.get("status", 0))
            error = outcome.get("error") or {}
            problem = CLUSTER_PROBLEMS.get(str(error.get("type")))
            if problem is not None:
                raise LoadInterruptedError(
                    f"OpenSearch refused writes to {key[0]} ({error.get('type')}: "
                    f"{error.get('reason', '')}); {problem}. After {_stored(report)} events "
                    "were stored the load stopped; nothing stored is lost: re-run the partitions."
                )
            if ok and status in (200, 201):
                load.indexed += 1
            elif status == 409:
                load.unchanged += 1
            elif status == 429 or status >= 500:
                retry.append(
                    {"_op_type": "create", "_index": key[0], "_id": key[1], "_source": event}
                )
                continue
            else:
                reason = f"{error.get('type', 'rejected')} ({status}): {error.get('reason', '')}"
                record_failure(load, reason[:300], event)
            _take(pending, key)
    except (os_errors.ConnectionError, os_errors.ConnectionTimeout) as error:
        raise LoadInterruptedError(
            f"OpenSearch stopped answering during the load ({type(error).__name__}) after "
            f"{_stored(report)} events were stored. Nothing stored is lost and ids are "
            "deterministic: re-run the same partitions once the cluster is back."
        ) from None
    except os_errors.TransportError as error:
        raise LoadInterruptedError(
            f"OpenSearch refused a bulk request (HTTP {error.status_code}: {error.error}) after "
            f"{_stored(report)} events were stored; nothing stored is lost. Check the cluster's "
            "health and the credentials' index permissions, then re-run the partitions."
        ) from None


def _take(
    pending: dict[tuple[str, str], list[tuple[WindowLoad, Event]]], key: tuple[str, str]
) -> tuple[WindowLoad, Event]:
    waiting = pending[key]
    taken = waiting.pop(0)
    if not waiting:
        del pending[key]
    return taken


def _stored(report: LoadReport) -> int:
    return sum(w.indexed + w.unchanged for w in report.windows.values())
