"""OpenObserve: Okta events as records of a log stream, through its JSON ingestion API.

`POST /api/{org}/{stream}/_json` with a JSON array, basic auth. Each record is the landed event
as it is, plus `_timestamp` (its `published`, in microseconds), so it lands at event time.
OpenObserve answers 200 with per-stream counts (`successful`, `failed`, `error`) and does not
say which records it refused. What it is known to refuse is refused here before sending:
records older than its ingest horizon (`ZO_INGEST_ALLOWED_UPTO`, 5 hours by default) or too far
ahead (`ZO_INGEST_ALLOWED_IN_FUTURE`, 24 hours). A batch it still refuses in part is not sent
again (that would store its other records twice): its records are dead-lettered with the counts
and OpenObserve's error, for a check by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from okta_pipeline.lib.sinks.model import (
    BatchResult,
    DestinationRefusedError,
    DestinationUnavailableError,
    Entry,
    EntryRefusedError,
    Event,
    PartialBatch,
)

DEFAULT_INGEST_ALLOWED_UPTO = timedelta(hours=5)
DEFAULT_INGEST_ALLOWED_IN_FUTURE = timedelta(hours=24)
HORIZON_MARGIN = timedelta(minutes=10)
"""A run decides what is too old once, when it starts, and sends for minutes after: an event
this close to the horizon then would cross it on the way and be refused one by one."""
MAX_RECORDS = 1_000
MAX_REQUEST_BYTES = 5 * 1024 * 1024
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
EMPTY_BATCH_BYTES = 2  # the brackets of the JSON array


def record(event: Event, line: str, published: datetime | None = None) -> str:
    """The landed JSON with `_timestamp` (microseconds since the epoch) appended."""
    if published is None:
        published = _published(event)
    micros = int(published.timestamp() * 1_000_000)
    if "_timestamp" in event:
        return orjson.dumps({**event, "_timestamp": micros}).decode()
    return f'{line[: line.rindex("}")]},"_timestamp":{micros}}}'


def _published(event: Event) -> datetime:
    return datetime.fromisoformat(str(event["published"]).replace("Z", "+00:00"))


def utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8, without encoding it when it is ASCII (checked in O(1))."""
    return len(text) if text.isascii() else len(text.encode())


class OpenObserveDestination:
    name = "openobserve"

    def __init__(
        self,
        client: httpx.Client,
        organization: str,
        stream: str,
        ingest_allowed_upto: timedelta = DEFAULT_INGEST_ALLOWED_UPTO,
        ingest_allowed_in_future: timedelta = DEFAULT_INGEST_ALLOWED_IN_FUTURE,
        max_records: int = MAX_RECORDS,
        max_bytes: int = MAX_REQUEST_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.path = f"/api/{organization}/{stream}/_json"
        self.stream = stream
        self.ingest_allowed_upto = ingest_allowed_upto
        self.ingest_allowed_in_future = ingest_allowed_in_future
        self.max_entries = max_records
        self.max_bytes = max_bytes
        self.clock = clock

    def horizon(self) -> datetime:
        """The oldest `published` sent: OpenObserve's horizon now, less the margin a run's
        sending takes (older events are not sent)."""
        return self.clock() - self.ingest_allowed_upto + HORIZON_MARGIN

    def horizon_fix(self) -> str:
        hours = self.ingest_allowed_upto.total_seconds() / 3600
        return (
            f"older than OpenObserve's ingest horizon ({hours:g} hours, ZO_INGEST_ALLOWED_UPTO, "
            f"less {HORIZON_MARGIN.total_seconds() / 60:g} minutes for the time sending takes): "
            "not sent. Raise ZO_INGEST_ALLOWED_UPTO on the OpenObserve server and "
            "OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS here to match, then materialize these "
            "windows again"
        )

    def entry(self, event: Event, line: str) -> Entry:
        published = _published(event)
        now = self.clock()
        if published > now + self.ingest_allowed_in_future:
            raise EntryRefusedError(
                "BeyondIngestFuture",
                f"published {published:%Y-%m-%d %H:%M} UTC, more than "
                f"{self.ingest_allowed_in_future.total_seconds() / 3600:g} hours ahead "
                "(ZO_INGEST_ALLOWED_IN_FUTURE); not sent",
            )
        body = record(event, line, published)
        size = utf8_length(body)
        if size + EMPTY_BATCH_BYTES > self.max_bytes:
            raise EntryRefusedError(
                "RecordTooLarge", f"{size} bytes, over the {self.max_bytes} bytes of a request"
            )
        return Entry(str(event["uuid"]), str(event["published"]), body, size)

    def batch_bytes(self, entries: list[Entry]) -> int:
        return EMPTY_BATCH_BYTES + sum(e.size + 1 for e in entries)

    def send(self, entries: list[Entry]) -> BatchResult:
        content = ("[" + ",".join(str(e.body) for e in entries) + "]").encode()
        try:
            response = self.client.post(
                self.path, content=content, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError as error:
            raise DestinationUnavailableError(
                f"OpenObserve did not answer ({type(error).__name__})"
            ) from None
        if response.status_code in (401, 403):
            raise DestinationRefusedError(
                f"OpenObserve refused the credentials (HTTP {response.status_code}). Fix "
                "OPENOBSERVE_USER / OPENOBSERVE_PASSWORD (or the secret "
                "OPENOBSERVE_SECRET_ID names) for a user that may ingest into "
                f"{self.path}, then materialize the windows again: nothing accepted is sent "
                "twice."
            )
        if response.status_code in RETRYABLE_STATUSES:
            raise DestinationUnavailableError(f"OpenObserve answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise DestinationRefusedError(
                f"OpenObserve refused {self.path} (HTTP {response.status_code}: "
                f"{response.text[:200]}); check OPENOBSERVE_URL, OPENOBSERVE_ORG and "
                "OPENOBSERVE_STREAM, then materialize the windows again."
            )
        return self._counted(entries, response.json())

    def _counted(self, entries: list[Entry], answer: Any) -> BatchResult:
        fallback: dict[str, Any] = {"successful": 0, "failed": len(entries), "error": str(answer)}
        status: dict[str, Any] = next(
            (s for s in answer.get("status", []) if s.get("name") == self.stream), fallback
        )
        successful, failed = int(status.get("successful", 0)), int(status.get("failed", 0))
        if failed == 0 and successful == len(entries):
            return BatchResult(accepted={e.id: "" for e in entries})
        error = str(status.get("error") or answer.get("error") or "no reason given")
        return BatchResult(partial=PartialBatch(successful, failed, error[:300]))
