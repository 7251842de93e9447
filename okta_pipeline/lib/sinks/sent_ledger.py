"""What each destination has accepted, window by window, kept beside the landed windows.

Neither CloudTrail Lake nor OpenObserve deduplicates by id, so re-sending a window would store
its events twice. Each accepted event's uuid is recorded in the sink's own dataset of the
landing zone (the same storage and conditional writes as the windows), and a later run sends
only what the ledger lacks: a re-run sends nothing, a re-fetch that added two late events sends
those two.

A write appends a gzip member holding only the new acceptances to the window's ledger file
(a file of several members is one gzip stream to `zcat` and to every reader), under the
storage's conditional write, so its cost does not grow with the window. Acceptances are
written at least every `checkpoint_seconds`, at the end of each window and when the run stops
(however it stops short of being killed): a run killed outright may send again what it had
accepted in its last seconds, and nothing else.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterable
from datetime import datetime

import orjson

from okta_pipeline.lib.landing.shapes import RecordShape
from okta_pipeline.lib.landing.storage import Change
from okta_pipeline.lib.landing.zone import LandingZone

CHECKPOINT_SECONDS = 2.0
"""How old the oldest unwritten acceptance may get before the ledger writes."""
ACCEPTANCE = RecordShape(
    noun="acceptance", id_field="uuid", time_field="published", type_field="destination_id"
)


class SentLedger:
    def __init__(
        self, zone: LandingZone, sink: str, checkpoint_seconds: float = CHECKPOINT_SECONDS
    ) -> None:
        self.zone = LandingZone(zone.storage, dataset=f"sink_{sink}_accepted", shape=ACCEPTANCE)
        self.checkpoint_seconds = checkpoint_seconds
        self._pending: dict[datetime, list[tuple[str, str, str]]] = {}
        self._oldest_pending: float | None = None
        self._accepted: dict[datetime, set[str]] = {}
        """Each window's acceptances as read once, plus those this ledger recorded since."""

    def accepted(self, window: datetime) -> set[str]:
        if window not in self._accepted:
            self._accepted[window] = {str(r["uuid"]) for r in self.zone.read_window(window)}
        return set(self._accepted[window])

    def record(self, window: datetime, accepted: Iterable[tuple[str, str, str]]) -> None:
        """Record (uuid, published, destination id) triples as accepted in `window`; written
        now if the oldest unwritten acceptance is `checkpoint_seconds` old."""
        records = list(accepted)
        if not records:
            return
        if window not in self._accepted:
            self.accepted(window)  # read before it is added to
        self._accepted[window].update(uuid for uuid, _, _ in records)
        self._pending.setdefault(window, []).extend(records)
        now = time.monotonic()
        if self._oldest_pending is None:
            self._oldest_pending = now
        if now - self._oldest_pending >= self.checkpoint_seconds:
            self.flush()

    def flush(self) -> None:
        """Write every acceptance recorded so far."""
        pending, self._pending, self._oldest_pending = self._pending, {}, None
        for window, records in pending.items():
            lines = (
                orjson.dumps({"uuid": uuid, "published": published, "destination_id": target})
                + b"\n"
                for uuid, published, target in records
            )
            member = gzip.compress(b"".join(lines), compresslevel=6, mtime=0)
            self.zone.storage.update(self.zone.window_key(window), _appending(member))


def _appending(member: bytes) -> Change:
    def change(current: bytes | None) -> bytes:
        return (current or b"") + member

    return change
