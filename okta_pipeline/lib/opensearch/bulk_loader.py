"""Bulk-index landed records (Okta events, CloudTrail records): `_id` = the record's own id,
daily index from its own time, nothing lost. `IndexedSource` says which fields those are, how
an index is named and what derived fields a document carries.

Documents are sent with `create`: a document that already exists (a re-run) comes back as 409
and counts as unchanged, so re-runs converge without rewriting anything. Each document is the
landed line plus the `okta_pipeline` fields derived from it, which the mapping keeps out of
`_source`. Items rejected with 429 or 5xx (or a whole request answered 429, 502, 503 or 504)
are retried chunk by chunk with exponential backoff before the next chunk is sent, so a
throttled cluster slows the load down and memory stays at a chunk; those still refused after
the retry budget (about 15 minutes of waiting) are counted as failed (a re-run loads them).
Dead letters are kept for what cannot be a record (not JSON, not an object, no id, an
unparseable time, over the size limit) and for an event OpenSearch refuses for a reason
of its own; they go to the dead-letter file with the reason.

The bodies are built here rather than by opensearch-py's `streaming_bulk`: a landed event is
already the JSON line to send, and the `_bulk` API answers items in request order, so results
are matched by position. The helper's per-action expansion, re-serialization and bookkeeping
cost more CPU than OpenSearch's own indexing on a small machine (bench/RESULTS.md).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.lib.landing import OKTA_EVENT, Event, RecordShape
from okta_pipeline.lib.opensearch.derived_fields import NAMESPACE, derive
from okta_pipeline.lib.opensearch.okta_index import index_name
from okta_pipeline.lib.prepared_ahead import prepared_ahead

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


RETRIES_EXHAUSTED = "refused with 429 or 5xx after every retry"


@dataclass
class WindowLoad:
    window: datetime
    indexed: int = 0
    unchanged: int = 0
    dead_lettered: int = 0
    """Items that cannot be indexed: not events, or refused by OpenSearch for their content."""
    failed: int = 0
    """Events OpenSearch kept refusing with 429 or 5xx: a re-run indexes them."""
    bytes: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    field_problems: Counter[str] = field(default_factory=Counter)
    """This window's events lacking a required field (counted in the report's too)."""
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return round(max(0.0, self.finished - self.started), 3)


@dataclass
class LoadReport:
    windows: dict[datetime, WindowLoad] = field(default_factory=dict)
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    field_problems: Counter[str] = field(default_factory=Counter)
    """Events lacking a required field: unplaceable ones, and those without an eventType."""
    examples: list[str] = field(default_factory=list)
    dead_letter_location: str | None = None
    shape: RecordShape = OKTA_EVENT

    @property
    def dead_lettered(self) -> int:
        return sum(w.dead_lettered for w in self.windows.values())

    @property
    def failed(self) -> int:
        """Events not indexed in this run for the cluster's sake (429 or 5xx to the end)."""
        return sum(w.failed for w in self.windows.values())

    def summary(self) -> str:
        parts = []
        if self.dead_lettered:
            reasons = ", ".join(f"{r}: {n}" for r, n in self.dead_letter_reasons.most_common())
            where = f" to {self.dead_letter_location}" if self.dead_letter_location else ""
            parts.append(f"{self.dead_lettered} items were dead-lettered{where} ({reasons}).")
        if self.failed:
            parts.append(
                f"{self.failed} events were {RETRIES_EXHAUSTED}: re-run the partitions once "
                "the cluster keeps up."
            )
        return " ".join([*parts, f"Examples: {'; '.join(self.examples)}."])


class DeadLetters:
    """Events that could not be indexed, with why; appended as gzip members of one file at
    `path`, reported as `location` (where that file is finally stored)."""

    def __init__(self, path: Path, location: str | None = None) -> None:
        self.path = path
        self.location = location or str(path)
        self.count = 0

    def add(self, window: datetime, reason: str, event: Event | str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"window": window.isoformat(), "reason": reason, "event": event}
        with gzip.open(self.path, "at", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1


def with_derived(event: Event, source: str) -> str:
    """The document to send: the event's JSON with its derived fields appended.

    The landed text is kept byte for byte (the mapping leaves the namespace out of `_source`);
    an event that already has a key named like the namespace is sent without derived fields.
    """
    return append_derived(event, source, derive(event))


def append_derived(record: Event, source: str, derived: dict[str, Any]) -> str:
    """`source` (the record's JSON object) with `derived` added under the namespace key."""
    if not derived or NAMESPACE in record:
        return source
    return f'{source[:-1]},"{NAMESPACE}":{orjson.dumps(derived).decode()}}}'


@dataclass(frozen=True)
class IndexedSource:
    """What the loader needs to know of a source: its record shape, its daily index names and
    the document it sends for a record (the landed JSON plus derived fields)."""

    shape: RecordShape
    index_name: Callable[[str, datetime], str]
    document: Callable[[Event, str], str]


OKTA_LOGS = IndexedSource(OKTA_EVENT, index_name, with_derived)


def validate(event: Event, shape: RecordShape = OKTA_EVENT) -> tuple[str, datetime] | str:
    """The (id, time) that place a record, or the reason it cannot be placed."""
    record_id = event.get(shape.id_field)
    if not isinstance(record_id, str) or not record_id.strip():
        return f"missing {shape.id_field}"
    if len(record_id.encode()) > MAX_ID_BYTES:
        return f"{shape.id_field} longer than {MAX_ID_BYTES} bytes"
    moment = shape.record_time(event)
    if moment is None:
        return f"unparseable {shape.time_field}"
    return record_id, moment


@dataclass(frozen=True, slots=True)
class _Action:
    load: WindowLoad
    event: Event
    line: str
    """The two NDJSON lines of a `create`: action and source, each ending in a newline."""


def load_windows(
    client: OpenSearch,
    windows: Iterable[tuple[datetime, Iterable[Event | str]]],
    prefix: str,
    dead_letters: DeadLetters,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_retries: int = 64,
    initial_backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    max_event_bytes: int = MAX_EVENT_BYTES,
    retry_budget_seconds: float = 900.0,
    source: IndexedSource = OKTA_LOGS,
) -> LoadReport:
    """Index every window's records (dicts, or JSON lines as landed) and report per window.

    A chunk's items refused with 429 or 5xx are retried after `initial_backoff`, doubling up to
    30 s, until they are taken, `max_retries` retries were made, or `retry_budget_seconds` were
    spent waiting on that chunk."""
    report = LoadReport(shape=source.shape)
    policy = RetryPolicy(max_retries, initial_backoff, retry_budget_seconds, sleep)
    indexed, shape = source, source.shape

    def actions() -> Iterator[_Action]:
        for window, items in windows:
            with _FAILURES:  # the main thread reads the windows while this one adds them
                load = report.windows.setdefault(window, WindowLoad(window))
            load.started = time.monotonic()
            load.finished = load.started
            for item in items:
                # A landed JSON line is sent as it is; an event given as a dict is serialized once.
                if isinstance(item, str):
                    try:
                        event, source = orjson.loads(item), item.rstrip()
                    except orjson.JSONDecodeError:
                        dead_letter(report, dead_letters, load, "not JSON", item)
                        continue
                else:
                    event = item
                    source = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                if not isinstance(event, dict):
                    dead_letter(report, dead_letters, load, "not a JSON object", source)
                    continue
                placed = validate(event, shape)
                if isinstance(placed, str):
                    report.field_problems[placed] += 1
                    load.field_problems[placed] += 1
                    dead_letter(report, dead_letters, load, placed, event)
                    continue
                if not isinstance(event.get(shape.type_field), str):
                    report.field_problems[f"missing {shape.type_field}"] += 1
                    load.field_problems[f"missing {shape.type_field}"] += 1
                record_id, moment = placed
                size = len(source.encode())
                if size > max_event_bytes:
                    dead_letter(
                        report,
                        dead_letters,
                        load,
                        f"event larger than {max_event_bytes} bytes",
                        event,
                    )
                    continue
                load.bytes += size
                target = orjson.dumps(
                    {"create": {"_index": indexed.index_name(prefix, moment), "_id": record_id}}
                ).decode()
                yield _Action(load, event, f"{target}\n{indexed.document(event, source)}\n")

    _send(client, actions(), chunk_bytes, report, dead_letters, policy)
    return report


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    initial_backoff: float
    budget_seconds: float
    sleep: Callable[[float], None]
    max_backoff: float = 30.0

    def delays(self) -> Iterator[float]:
        """The waits before each retry of one chunk, until the budget is spent."""
        waited = 0.0
        for attempt in range(self.max_retries):
            if waited >= self.budget_seconds:
                return
            delay = min(self.initial_backoff * 2**attempt, self.max_backoff)
            waited += delay
            yield delay


_FAILURES = threading.Lock()  # chunks are prepared on a worker thread: both threads record


def dead_letter(
    report: LoadReport,
    dead_letters: DeadLetters,
    load: WindowLoad,
    reason: str,
    event: Event | str,
) -> None:
    with _FAILURES:
        load.dead_lettered += 1
        load.dead_letter_reasons[reason] += 1
        report.dead_letter_reasons[reason] += 1
        add_example(report, event, reason)
        dead_letters.add(load.window, reason, event)
        report.dead_letter_location = dead_letters.location


def add_example(report: LoadReport, event: Event | str, reason: str) -> None:
    if len(report.examples) >= MAX_EXAMPLES:
        return
    if isinstance(event, dict):
        report.examples.append(
            f"{report.shape.id_field}={event.get(report.shape.id_field)!r} "
            f"{report.shape.time_field}={event.get(report.shape.time_field)!r}: {reason}"
        )
    else:
        report.examples.append(f"{event[:80]!r}: {reason}")


def _chunks(actions: Iterator[_Action], chunk_bytes: int) -> Iterator[list[_Action]]:
    chunk: list[_Action] = []
    size = 0
    for action in actions:
        length = len(action.line)  # characters: close enough to bytes for sizing chunks
        if chunk and size + length > chunk_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += length
    if chunk:
        yield chunk


def _send(
    client: OpenSearch,
    actions: Iterator[_Action],
    chunk_bytes: int,
    report: LoadReport,
    dead_letters: DeadLetters,
    policy: RetryPolicy,
) -> None:
    """Send the actions chunk by chunk, retrying what a chunk had refused before the next."""
    for chunk, body in _prepared_ahead(_chunks(actions, chunk_bytes)):
        pending = _send_chunk(client, chunk, body, report, dead_letters)
        for delay in policy.delays():
            if not pending:
                break
            policy.sleep(delay)
            body = "".join(action.line for action in pending)
            pending = _send_chunk(client, pending, body, report, dead_letters)
        for action in pending:  # still refused after every retry: not the event's fault
            with _FAILURES:
                action.load.failed += 1
                add_example(report, action.event, RETRIES_EXHAUSTED)


def _send_chunk(
    client: OpenSearch,
    chunk: list[_Action],
    body: str,
    report: LoadReport,
    dead_letters: DeadLetters,
) -> list[_Action]:
    """Send one chunk and record each item's outcome; return those to retry (429, 5xx)."""
    retry: list[_Action] = []
    response = _post(client, body, report)
    if response is None:  # the whole request was throttled or the cluster briefly unavailable
        return list(chunk)
    finished = time.monotonic()
    for action, item in zip(chunk, response["items"], strict=True):
        outcome = item.get("create") or item.get("index") or {}
        status = int(outcome.get("status", 0))
        action.load.finished = finished
        if status in (200, 201):
            action.load.indexed += 1
        elif status == 409:
            action.load.unchanged += 1
        else:
            error = outcome.get("error") or {}
            problem = CLUSTER_PROBLEMS.get(str(error.get("type")))
            if problem is not None:
                raise LoadInterruptedError(
                    f"OpenSearch refused writes to {outcome.get('_index')} "
                    f"({error.get('type')}: {error.get('reason', '')}); {problem}. After "
                    f"{_stored(report)} events were stored the load stopped; nothing "
                    "stored is lost: re-run the partitions."
                )
            if status == 429 or status >= 500:
                retry.append(action)
            else:
                reason = f"{error.get('type', 'rejected')} ({status}): {error.get('reason', '')}"
                dead_letter(report, dead_letters, action.load, reason[:300], action.event)
    return retry


def _prepared_ahead(chunks: Iterator[list[_Action]]) -> Iterator[tuple[list[_Action], str]]:
    """Each chunk with its body, built on a worker thread while the current one is in flight."""
    return prepared_ahead(
        ((chunk, "".join(action.line for action in chunk)) for chunk in chunks),
        name="bulk-prepare",
    )


RETRYABLE_REQUEST_STATUSES = {429, 502, 503, 504}


def _post(client: OpenSearch, body: str, report: LoadReport) -> dict[str, Any] | None:
    """The bulk response; None when the whole request may be retried (429, 502-504)."""
    try:
        response: dict[str, Any] = client.bulk(body=body)
        return response
    except (os_errors.ConnectionError, os_errors.ConnectionTimeout) as error:
        raise LoadInterruptedError(
            f"OpenSearch stopped answering during the load ({type(error).__name__}) after "
            f"{_stored(report)} events were stored. Nothing stored is lost and ids are "
            "deterministic: re-run the same partitions once the cluster is back."
        ) from None
    except os_errors.TransportError as error:
        if error.status_code in RETRYABLE_REQUEST_STATUSES:
            return None
        raise LoadInterruptedError(
            f"OpenSearch refused a bulk request (HTTP {error.status_code}: {error.error}) after "
            f"{_stored(report)} events were stored; nothing stored is lost. Check the cluster's "
            "health and the credentials' index permissions, then re-run the partitions."
        ) from None


def _stored(report: LoadReport) -> int:
    with _FAILURES:  # the worker thread may be adding a window
        loads = list(report.windows.values())
    return sum(w.indexed + w.unchanged for w in loads)
