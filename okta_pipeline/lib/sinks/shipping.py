"""Ship landed windows to a destination: what the bulk loader does for OpenSearch, for a
destination that is not OpenSearch, with the same per-window accounting (`WindowLoad`: sent and
accepted, already there, dead-lettered with the destination's reason, failed to be retried by a
re-run).

Events the sent ledger already holds are not sent again. Entries a batch refused as retryable
(throttled, an internal failure) are retried with backoff; entries refused for what they are
are dead-lettered with the destination's error code; an event the destination could never take
(over its size limit, say) is dead-lettered before it is sent, never truncated. A refusal of
the credentials stops the run's sending: every event not yet accepted counts as failed, and the
message says which credential to fix.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

import orjson

from okta_pipeline.lib.landing.shapes import OKTA_EVENT
from okta_pipeline.lib.opensearch.bulk_loader import (
    RETRIES_EXHAUSTED,
    DeadLetters,
    LoadReport,
    RetryPolicy,
    WindowLoad,
    add_example,
    dead_letter,
    validate,
)
from okta_pipeline.lib.prepared_ahead import prepared_ahead
from okta_pipeline.lib.sinks.model import (
    Destination,
    DestinationRefusedError,
    DestinationUnavailableError,
    Entry,
    EntryRefusedError,
    Event,
    PartialBatch,
)
from okta_pipeline.lib.sinks.sent_ledger import SentLedger

SEPARATOR_BYTES = 1  # the comma between two entries of a JSON array


@dataclass
class ShipReport(LoadReport):
    """`WindowLoad.indexed` counts the events the destination accepted in this run and
    `unchanged` those it had accepted before (the ledger's)."""

    credentials_refused: str | None = None
    beyond_horizon: Counter[datetime] = field(default_factory=Counter)
    """Per window, the events not sent for being older than the destination's horizon."""
    sent: int = 0
    """Events put in a request at least once."""
    last_unavailable: str | None = None
    """The last whole-request failure, when one was retried."""

    @property
    def accepted(self) -> int:
        return sum(w.indexed for w in self.windows.values())


def ship_windows(
    destination: Destination,
    windows: Iterable[tuple[datetime, Iterator[str]]],
    ledger: SentLedger,
    dead_letters: DeadLetters,
    policy: RetryPolicy | None = None,
) -> ShipReport:
    report = ShipReport(shape=OKTA_EVENT)
    retries = policy or RetryPolicy(8, 0.5, 300.0, time.sleep)
    horizon = destination.horizon()
    # Reading, parsing, mapping and batching run on a worker thread, across window boundaries,
    # while a batch is in flight; this thread only sends, reads the answers and counts.
    batches = (
        batch
        for window, lines in windows
        for batch in _batches(destination, window, lines, ledger.accepted(window), horizon)
    )
    try:
        for batch in prepared_ahead(batches, name="sink-prepare"):
            load = report.windows.setdefault(batch.window, WindowLoad(batch.window))
            _ship_batch(destination, batch, horizon, load, report, ledger, dead_letters, retries)
            if batch.ends_window:
                load.finished = time.monotonic()
                ledger.flush()
    finally:
        ledger.flush()  # what was accepted stays recorded, whatever stopped the run
    report.dead_letter_location = dead_letters.location if report.dead_lettered else None
    return report


def _ship_batch(
    destination: Destination,
    batch: _Batch,
    horizon: datetime | None,
    load: WindowLoad,
    report: ShipReport,
    ledger: SentLedger,
    dead_letters: DeadLetters,
    retries: RetryPolicy,
) -> None:
    for item in batch.held_back:
        _account(item, batch.window, horizon, load, report, dead_letters)
    load.unchanged += batch.repeated
    if not batch.entries:
        return
    if report.credentials_refused:
        load.failed += len(batch.entries)
        return
    load.bytes += batch.bytes
    _flush(destination, batch.entries, batch.lines, load, report, ledger, dead_letters, retries)


@dataclass(slots=True)
class _Batch:
    """The worker's next stretch of a window: a batch to send (possibly empty) and the events
    before it that are not sent, for the calling thread to count."""

    window: datetime
    entries: list[Entry]
    lines: dict[str, str]
    """The batch's landed lines by id, for its dead letters (parsed events are not kept:
    holding thousands of them makes the garbage collector's passes cost more than parsing)."""
    bytes: int
    held_back: list[_Item]
    repeated: int
    """Events that were in this batch already (a destination refuses a batch with an id twice)."""
    ends_window: bool = False


def _batches(
    destination: Destination,
    window: datetime,
    lines: Iterator[str],
    already: set[str],
    horizon: datetime | None,
    held_at_most: int = 1_000,
) -> Iterator[_Batch]:
    """The window's lines as the destination's batches, the last one marked (a window with no
    lines gets an empty one); none is mapped that was accepted before, and at most
    `held_at_most` unsent events wait to be counted."""
    batcher = Batcher(destination)
    batch_lines: dict[str, str] = {}
    held: list[_Item] = []
    repeated = size = 0
    for line in lines:
        item = _item(destination, line, already)
        entry = item.entry
        if entry is None or (horizon is not None and item.moment and item.moment < horizon):
            held.append(item)
            if len(held) >= held_at_most:
                yield _Batch(window, [], {}, 0, held, repeated)
                held, repeated = [], 0
            continue
        if entry.id in batch_lines:
            repeated += 1
            continue
        full = batcher.add(entry)
        if full:
            yield _Batch(window, full, batch_lines, size, held, repeated)
            batch_lines, held, repeated, size = {}, [], 0, 0
        batch_lines[entry.id] = line
        size += entry.size
    yield _Batch(window, batcher.take(), batch_lines, size, held, repeated, ends_window=True)


def _account(
    item: _Item,
    window: datetime,
    horizon: datetime | None,
    load: WindowLoad,
    report: ShipReport,
    dead_letters: DeadLetters,
) -> None:
    """Count an event that is not sent: accepted before, not sendable now, or a dead letter."""
    if item.problem is not None:
        if item.event is not None:
            report.field_problems[item.problem] += 1
            load.field_problems[item.problem] += 1
        dead_letter(report, dead_letters, load, item.problem, item.event or item.line)
    elif item.entry is None and item.refused is None:
        load.unchanged += 1
    elif report.credentials_refused:
        load.failed += 1
    elif horizon is not None and item.moment is not None and item.moment < horizon:
        load.failed += 1
        report.beyond_horizon[window] += 1
    elif item.refused is not None:
        reason = f"{item.refused.code}: {item.refused.message}"
        dead_letter(report, dead_letters, load, reason, item.event or item.line)


class Batcher:
    """Entries gathered into the destination's batches, by its count and byte limits."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.entries: list[Entry] = []
        self.size = destination.batch_bytes([])

    def add(self, entry: Entry) -> list[Entry] | None:
        """Add `entry`; the batch to send first when it does not fit beside it."""
        full = None
        if self.entries and (
            len(self.entries) >= self.destination.max_entries
            or self.size + SEPARATOR_BYTES + entry.size > self.destination.max_bytes
        ):
            full = self.take()
        self.entries.append(entry)
        self.size += entry.size + SEPARATOR_BYTES
        return full

    def take(self) -> list[Entry]:
        """The entries gathered so far, and a fresh batch."""
        taken, self.entries, self.size = self.entries, [], self.destination.batch_bytes([])
        return taken


@dataclass(frozen=True, slots=True)
class _Item:
    """One landed line, parsed and mapped: an entry to send, or why not."""

    line: str
    event: Event | None = None
    """The parsed event, kept only when it is not sent (to dead-letter it as an object)."""
    problem: str | None = None
    """Why it cannot be placed in a window (not JSON, no uuid...): a dead letter."""
    moment: datetime | None = None
    entry: Entry | None = None
    refused: EntryRefusedError | None = None


_ACCEPTED_BEFORE = _Item("")


def _item(destination: Destination, line: str, already: set[str]) -> _Item:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _Item(line, problem="not JSON")
    if not isinstance(event, dict):
        return _Item(line, problem="not a JSON object")
    placed = validate(event)
    if isinstance(placed, str):
        return _Item(line, event, problem=placed)
    uuid, moment = placed
    if uuid in already:
        return _ACCEPTED_BEFORE
    try:
        return _Item(line, moment=moment, entry=destination.entry(event, line))
    except EntryRefusedError as refused:
        return _Item(line, event, moment=moment, refused=refused)


def _flush(
    destination: Destination,
    batch: list[Entry],
    lines: dict[str, str],
    load: WindowLoad,
    report: ShipReport,
    ledger: SentLedger,
    dead_letters: DeadLetters,
    policy: RetryPolicy,
) -> None:
    pending = batch
    report.sent += len(batch)
    for delay in chain([0.0], policy.delays()):
        if not pending:
            return
        if delay:
            policy.sleep(delay)
        try:
            result = destination.send(pending)
        except DestinationRefusedError as refused:
            report.credentials_refused = str(refused)
            load.failed += len(pending)
            return
        except DestinationUnavailableError as unavailable:
            report.last_unavailable = str(unavailable)
            continue
        by_id = {entry.id: entry for entry in pending}
        if result.partial is not None:
            _partly_stored(result.partial, pending, lines, load, report, ledger, dead_letters)
            return
        taken = [(i, by_id[i].published, d) for i, d in result.accepted.items() if i in by_id]
        ledger.record(load.window, taken)  # recorded before anything else is sent
        load.indexed += len(taken)
        retry: dict[str, Entry] = {}
        for refusal in result.refused:
            if refusal.id not in by_id:
                continue
            if refusal.retryable:
                retry[refusal.id] = by_id[refusal.id]
            else:
                reason = f"{refusal.code}: {refusal.message}"[:300]
                dead_letter(report, dead_letters, load, reason, _parsed(lines[refusal.id]))
        answered = set(result.accepted) | {r.id for r in result.refused}
        # an entry the response does not mention was not taken: send it again
        retry.update({e.id: e for e in pending if e.id not in answered})
        pending = list(retry.values())
    for entry in pending:
        load.failed += 1
        add_example(report, _parsed(lines[entry.id]), report.last_unavailable or RETRIES_EXHAUSTED)


def _partly_stored(
    partial: PartialBatch,
    batch: list[Entry],
    lines: dict[str, str],
    load: WindowLoad,
    report: ShipReport,
    ledger: SentLedger,
    dead_letters: DeadLetters,
) -> None:
    """Some of the batch was stored, nobody knows which: sending any of it again could store it
    twice, so the whole batch goes in the ledger (destination id "partial") and in the dead
    letters, for a check by hand, and the counts are the destination's."""
    ledger.record(load.window, [(e.id, e.published, "partial") for e in batch])
    reason = (
        f"PartialRefusal: the destination stored {partial.stored} and refused "
        f"{partial.refused} of a batch of {len(batch)} without naming which ({partial.error}); "
        "the batch is not sent again, so that none is stored twice"
    )[:400]
    for entry in batch:
        dead_letters.add(load.window, reason, _parsed(lines[entry.id]))
    load.indexed += partial.stored
    load.dead_lettered += len(batch) - partial.stored
    load.dead_letter_reasons[reason] += len(batch) - partial.stored
    report.dead_letter_reasons[reason] += len(batch) - partial.stored
    add_example(report, _parsed(lines[batch[0].id]), reason)


def _parsed(line: str) -> Event:
    """A sent line parsed again, for a dead letter (it parsed when it was sent)."""
    event: Event = orjson.loads(line)
    return event
