"""Push against polling, window by window: which events each saw that the other did not."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from okta_pipeline.lib.landing.shapes import OKTA_EVENT
from okta_pipeline.lib.landing.zone import LandingZone
from okta_pipeline.lib.log_stream.drain import receipts_zone
from okta_pipeline.lib.windows import window_start

Event = dict[str, Any]


class PolledUuids:
    """Records the uuids a polling fetch returned, by window, as they stream past."""

    def __init__(self) -> None:
        self.by_window: dict[datetime, set[str]] = {}

    def recording(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            moment = OKTA_EVENT.record_time(event)
            if moment is not None:
                self.by_window.setdefault(window_start(moment), set()).add(OKTA_EVENT.key(event))
            yield event

    def compared_with_push(self, zone: LandingZone, window: datetime) -> PushComparison | None:
        """For a window the log stream delivered to, what it and this fetch each saw that the
        other did not; None for a window without push receipts."""
        pushed = {str(r["uuid"]) for r in receipts_zone(zone).read_window(window)}
        if not pushed:
            return None
        polled = self.by_window.get(window, set())
        return PushComparison(
            pushed=len(pushed),
            polled=len(polled),
            pushed_not_polled=len(pushed - polled),
            polled_not_pushed=len(polled - pushed),
        )


@dataclass(frozen=True)
class PushComparison:
    """One window as the log stream delivered it and as a polling fetch returned it.

    `pushed_not_polled`: events the stream delivered that Okta's API did not return (yet): an
    event not yet queryable, or a fetch that misses events. They are landed all the same.
    `polled_not_pushed`: events the stream never delivered (it is best effort)."""

    pushed: int
    polled: int
    pushed_not_polled: int
    polled_not_pushed: int

    def metadata(self) -> dict[str, int]:
        return {
            "pushed_events": self.pushed,
            "polled_events": self.polled,
            "pushed_not_polled": self.pushed_not_polled,
            "polled_not_pushed": self.polled_not_pushed,
        }
