"""What each destination has accepted, window by window, kept beside the landed windows.

Neither CloudTrail Lake nor OpenObserve deduplicates by id, so re-sending a window would store
its events twice. Each accepted event's uuid is recorded in the sink's own dataset of the
landing zone (the same storage and conditional writes as the windows) after every batch, and a
later run sends only what the ledger lacks: a re-run sends nothing, a re-fetch that added two
late events sends those two.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from okta_pipeline.lib.landing.shapes import RecordShape
from okta_pipeline.lib.landing.zone import LandingZone

ACCEPTANCE = RecordShape(
    noun="acceptance", id_field="uuid", time_field="published", type_field="destination_id"
)


class SentLedger:
    def __init__(self, zone: LandingZone, sink: str) -> None:
        self.zone = LandingZone(zone.storage, dataset=f"sink_{sink}_accepted", shape=ACCEPTANCE)

    def accepted(self, window: datetime) -> set[str]:
        return {str(record["uuid"]) for record in self.zone.read_window(window)}

    def record(
        self, window: datetime, accepted: Iterable[tuple[str, str, str]], at: datetime
    ) -> None:
        """Record (uuid, published, destination id) triples as accepted in `window`."""
        records = [
            {"uuid": uuid, "published": published, "destination_id": destination_id}
            for uuid, published, destination_id in accepted
        ]
        if records:
            self.zone.write_window(window, records, at.astimezone(UTC))

    def version(self, window: datetime) -> str:
        return self.zone.window_version(window)
