"""The raw landing zone: one gzipped JSON Lines file of a source's records per 5-minute window.

Records (Okta events, CloudTrail records) are stored as the source sent them: every key, value
and key order kept, nothing renamed or re-typed. Only the JSON form is normalized: one record per
line with compact separators,
non-ASCII as UTF-8 instead of escape sequences, and numbers in their shortest round-trip form
(37.70 is landed as 37.7, -1.5e2 as -150.0). Rewriting a window merges what is already stored
with what was fetched (union by the record's id), so a re-fetch can add late records but never
lose one. Files are byte-for-byte reproducible: the same events
give the same file, whatever order and however many runs produced them. The files live in a
directory or under an S3 prefix (`landing_storage`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import statistics
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from okta_pipeline.lib.landing.shapes import OKTA_EVENT, RecordShape, serialize
from okta_pipeline.lib.landing.storage import DirectoryStorage, LandingStorage
from okta_pipeline.lib.windows import WINDOW as WINDOW  # re-exported: older imports use it
from okta_pipeline.lib.windows import window_start as window_start

Event = dict[str, Any]
DAMAGE = (EOFError, OSError, zlib.error, UnicodeDecodeError, ValueError)
"""What reading a truncated or damaged gzip JSON Lines file raises."""


class CorruptWindowError(RuntimeError):
    """A landed window's file cannot be read to its end; the message says how to repair it."""


def parse_published(event: Event) -> datetime | None:
    """An Okta event's `published` as an aware UTC datetime, or None when missing or malformed."""
    return OKTA_EVENT.record_time(event)


def event_key(event: Event) -> str:
    """The dedup key of an Okta event: its uuid, or a content hash for one that lacks it."""
    return OKTA_EVENT.key(event)


@dataclass(frozen=True)
class WindowWrite:
    start: datetime
    total: int
    added: int
    lag_p50_seconds: float | None
    lag_max_seconds: float | None
    set_aside: str | None = None
    """Where a damaged file found in the window's place was kept (its readable events were
    merged); None when the file was whole."""


class LandingZone:
    def __init__(
        self,
        root: Path | LandingStorage,
        dataset: str = "okta_system_log",
        shape: RecordShape = OKTA_EVENT,
    ) -> None:
        self.storage = DirectoryStorage(root) if isinstance(root, Path) else root
        self.dataset = dataset
        self.shape = shape

    def _sort_key(self, record: Event) -> tuple[str, str]:
        moment = self.shape.record_time(record)
        return (moment.isoformat() if moment else "", self.shape.key(record))

    def window_key(self, start: datetime) -> str:
        utc = start.astimezone(UTC)
        return f"{self.dataset}/dt={utc:%Y-%m-%d}/{utc:%H-%M}.jsonl.gz"

    def window_location(self, start: datetime) -> str:
        return self.storage.location(self.window_key(start))

    def unplaceable_key(self, start: datetime, end: datetime, folder: str = "_unplaceable") -> str:
        return f"{self.dataset}/{folder}/{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.jsonl.gz"

    def read_window(self, start: datetime) -> list[Event]:
        return [json.loads(line) for line in self.iter_window_lines(start)]

    def iter_window_lines(self, start: datetime) -> Iterator[str]:
        """The window's records as the JSON lines stored (what a bulk request can send as is),
        streamed so that memory does not grow with the size of a window."""
        stream = self.storage.open_read(self.window_key(start))
        if stream is None:
            return
        try:
            with stream, gzip.open(stream, "rt", encoding="utf-8") as lines:
                for line in lines:
                    if line.strip():
                        yield line.rstrip("\n")
        except DAMAGE as error:
            raise CorruptWindowError(
                f"the landed file of the window {start:%Y-%m-%d %H:%M} UTC "
                f"({self.window_location(start)}) is damaged ({type(error).__name__}: {error}). "
                f"Re-fetch that window (materialize {self.dataset} for its partition): the "
                "re-fetch keeps its readable records, sets the damaged file aside and lands the "
                "window whole. Then load the range again: documents already indexed stay as "
                "they are, and nothing landed is lost."
            ) from None

    def window_version(self, start: datetime) -> str:
        """Changes whenever the window's landed events do ("none" while nothing is landed):
        identical events give identical bytes, so a re-fetch that adds nothing keeps it."""
        return self.storage.version(self.window_key(start)) or "none"

    def has_window(self, start: datetime) -> bool:
        return self.storage.exists(self.window_key(start))

    def write_window(
        self, start: datetime, fetched: Iterable[Event], fetched_at: datetime
    ) -> WindowWrite:
        """Store the union of the window's file and `fetched`; report how many were new.

        The storage's read-modify-write (a lock on a directory, conditional writes on S3)
        keeps two runs writing the same window (a backfill and a lookback re-fetch) from
        losing each other's events.
        """
        incoming = list(fetched)
        written: list[WindowWrite] = []
        set_aside: list[str] = []

        def merge(current: bytes | None) -> bytes:
            stored, damaged = _salvage(current)
            if damaged and current is not None:
                set_aside[:] = [self._set_aside(start, current)]
            known = {self.shape.key(e): e for e in stored}
            lags: list[float] = []
            for event in incoming:
                key = self.shape.key(event)
                if key in known:
                    continue
                known[key] = event
                moment = self.shape.record_time(event)
                if moment is not None:
                    lags.append((fetched_at - moment).total_seconds())
            ordered = sorted(known.values(), key=self._sort_key)
            written[:] = [
                WindowWrite(
                    start=start,
                    total=len(ordered),
                    added=len(lags),
                    lag_p50_seconds=round(statistics.median(lags), 3) if lags else None,
                    lag_max_seconds=round(max(lags), 3) if lags else None,
                    set_aside=set_aside[0] if set_aside else None,
                )
            ]
            return _encode(ordered)

        self.storage.update(self.window_key(start), merge)
        return written[0]

    def _set_aside(self, start: datetime, damaged: bytes) -> str:
        """Keep a damaged file under `_damaged/` (named by its digest: idempotent)."""
        utc = start.astimezone(UTC)
        digest = hashlib.sha256(damaged).hexdigest()[:12]
        key = f"{self.dataset}/_damaged/dt={utc:%Y-%m-%d}/{utc:%H-%M}-{digest}.jsonl.gz"
        with tempfile.TemporaryDirectory(prefix="okta-landing-") as scratch:
            copy = Path(scratch) / "damaged.jsonl.gz"
            copy.write_bytes(damaged)
            self.storage.put_file(key, copy)
        return self.storage.location(key)

    def write_unplaceable(
        self, start: datetime, end: datetime, events: list[Event], folder: str = "_unplaceable"
    ) -> str:
        """Keep what a run over [start, end) could not place in a window (in `folder`, one
        file per range, merged with what an earlier run kept there); return where."""

        def union(current: bytes | None) -> bytes:
            known = {self.shape.key(e): e for e in _decode(current)}
            known.update((self.shape.key(e), e) for e in events)
            return _encode(sorted(known.values(), key=self.shape.key))

        key = self.unplaceable_key(start, end, folder)
        self.storage.update(key, union)
        return self.storage.location(key)

    def iter_window_events(self, start: datetime, end: datetime) -> Iterator[Event]:
        moment = window_start(start)
        while moment < end:
            yield from self.read_window(moment)
            moment += WINDOW

    @contextmanager
    def spooled(self, key: str) -> Iterator[Path]:
        """A local file to append to; stored under `key` at the end if anything was written
        (also when the block fails, so nothing written is lost)."""
        with tempfile.TemporaryDirectory(prefix="okta-landing-") as scratch:
            spool = Path(scratch) / Path(key).name
            try:
                yield spool
            finally:
                if spool.is_file() and spool.stat().st_size:
                    self.storage.put_file(key, spool)


def _salvage(stored: bytes | None) -> tuple[list[Event], bool]:
    """The events of a stored file, and whether it was damaged. From a damaged one: every
    complete line that decompresses before the damage."""
    try:
        return _decode(stored), False
    except DAMAGE:
        pass
    assert stored is not None
    reader = zlib.decompressobj(wbits=31)  # one gzip member, as `_encode` writes
    text = b""
    for offset in range(0, len(stored), 64 * 1024):
        try:
            text += reader.decompress(stored[offset : offset + 64 * 1024])
        except zlib.error:
            break
    events: list[Event] = []
    for line in text.split(b"\n")[:-1]:  # the last piece may be cut short
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, True


def _decode(stored: bytes | None) -> list[Event]:
    if not stored:
        return []
    text = gzip.decompress(stored).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _encode(events: list[Event]) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name in the header: identical events give identical bytes
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as archive:
        for event in events:
            archive.write((serialize(event) + "\n").encode("utf-8"))
    return buffer.getvalue()


def split_into_windows(
    zone: LandingZone,
    events: Iterable[Event],
    start: datetime,
    end: datetime,
    fetched_at: datetime,
) -> tuple[list[WindowWrite], list[Event]]:
    """Write every window of [start, end) from a stream of records; return the writes and the
    records that cannot be placed (no parseable time, or outside the range).

    Okta's bounded queries return events in published order, so only the current window is held
    in memory; an out-of-order event is still merged into its window's file correctly.
    """
    pending: dict[datetime, list[Event]] = {}
    unplaceable: list[Event] = []
    writes: dict[datetime, WindowWrite] = {}

    def flush_before(limit: datetime) -> None:
        for window in sorted(w for w in pending if w < limit):
            write = zone.write_window(window, pending.pop(window), fetched_at)
            earlier = writes.get(window)
            if earlier is not None:  # an out-of-order event reopened this window
                write = _combine(earlier, write)
            writes[window] = write

    for event in events:
        published = zone.shape.record_time(event)
        if published is None or not start <= published < end:
            unplaceable.append(event)
            continue
        window = window_start(published)
        if window not in pending:
            flush_before(window)
            pending[window] = []
        pending[window].append(event)
    flush_before(end)
    moment = window_start(start)
    while moment < end:
        if moment not in writes:
            writes[moment] = zone.write_window(moment, [], fetched_at)
        moment += WINDOW
    return [writes[w] for w in sorted(writes)], unplaceable


def _combine(first: WindowWrite, second: WindowWrite) -> WindowWrite:
    maxima = [m for m in (first.lag_max_seconds, second.lag_max_seconds) if m is not None]
    return WindowWrite(
        start=first.start,
        total=second.total,
        added=first.added + second.added,
        lag_p50_seconds=first.lag_p50_seconds if first.added else second.lag_p50_seconds,
        lag_max_seconds=max(maxima) if maxima else None,
    )
