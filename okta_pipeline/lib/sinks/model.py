"""What a destination outside OpenSearch is to the shipping loop: limits, an entry per event, and
a batch call that says which entries it took and why it refused the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Entry:
    """One event in the destination's shape. `size` counts against the batch's byte limit."""

    id: str
    """The Okta uuid: the destination's event id, and the key of the sent ledger."""
    published: str
    body: Any
    size: int


@dataclass(frozen=True, slots=True)
class Refusal:
    id: str
    code: str
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class PartialBatch:
    """A destination stored some of a batch and refused the others without naming them."""

    stored: int
    refused: int
    error: str


@dataclass
class BatchResult:
    accepted: dict[str, str] = field(default_factory=dict)
    """Entry id -> the id the destination gave it ("" when it gives none)."""
    refused: list[Refusal] = field(default_factory=list)
    partial: PartialBatch | None = None
    """Set instead of the two above when the destination does not say which it took."""


class EntryRefusedError(ValueError):
    """An event the destination can never take (too large, a field it requires is missing):
    dead-lettered with `code`, never truncated or sent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DestinationRefusedError(RuntimeError):
    """The destination refused who we are (401/403) or where we send (no such channel): a
    fix of the configuration, not a retry. Nothing more is sent this run, and the message names
    the setting or credential to fix."""


class DestinationUnavailableError(RuntimeError):
    """The whole request failed in a way a later attempt may not (throttled, 5xx, a timeout)."""


class Destination(Protocol):
    name: str
    """The sink's name in reports and dead-letter folders (`cloudtrail_lake`, `openobserve`)."""
    max_entries: int
    max_bytes: int
    """The largest request body the destination takes; a lone entry over it is refused."""

    def entry(self, event: Event, line: str) -> Entry:
        """The event as the destination takes it; raises EntryRefusedError when it never could."""
        ...

    def send(self, entries: list[Entry]) -> BatchResult:
        """Send one batch; raises DestinationRefusedError or DestinationUnavailableError when
        the request as a whole fails."""
        ...

    def batch_bytes(self, entries: list[Entry]) -> int:
        """The request body's size for these entries."""
        ...

    def horizon(self) -> datetime | None:
        """The oldest `published` the destination takes now; None: no limit."""
        ...

    def horizon_fix(self) -> str:
        """Why events older than the horizon were not sent, and how to send them."""
        ...
