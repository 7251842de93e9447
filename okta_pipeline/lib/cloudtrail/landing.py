"""Landing a trail's records per 5-minute window: read the objects that can hold a range's
records, split them by `eventTime`, and merge each window's into its landed file (union by
`eventID`), so re-runs and objects delivered late converge.

Objects are read in delivery order and a window is written as soon as no later object can hold
its records, so memory holds about `max_delivery_delay` of records, not the whole range.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from okta_pipeline.lib.cloudtrail.trail import MalformedObjectError, Record, TrailBucket
from okta_pipeline.lib.landing import WINDOW, LandingZone, WindowWrite, window_start

MALFORMED_FOLDER = "_malformed_objects"


@dataclass(frozen=True)
class WindowDelivery:
    """How a window's records reached the trail: from how many objects, how late."""

    objects: int
    delay_p50_seconds: float | None
    delay_max_seconds: float | None


@dataclass
class TrailLanding:
    writes: list[WindowWrite] = field(default_factory=list)
    deliveries: dict[datetime, WindowDelivery] = field(default_factory=dict)
    objects_read: int = 0
    records_in_range: int = 0
    outside_range: int = 0
    """Records of the objects read that belong to windows outside the range (another run's)."""
    unplaceable: list[Record] = field(default_factory=list)
    malformed: dict[str, str] = field(default_factory=dict)
    """Objects that are not CloudTrail logs, or are over the read limits: key -> why."""
    malformed_listed_in: str | None = None
    """Where those objects are listed, with why (in the landing zone)."""
    list_requests: int = 0


def land_range(
    zone: LandingZone, trail: TrailBucket, start: datetime, end: datetime, fetched_at: datetime
) -> TrailLanding:
    """Land every window of [start, end) from the trail's objects; every window is written
    (an empty one too, so the run marks it fetched)."""
    landing = TrailLanding()
    pending: dict[datetime, list[Record]] = defaultdict(list)
    sources: dict[datetime, set[str]] = defaultdict(set)
    delays: dict[datetime, list[float]] = defaultdict(list)
    writes: dict[datetime, WindowWrite] = {}

    def flush(until: datetime | None) -> None:
        for window in sorted(w for w in pending if until is None or w + WINDOW < until):
            write = zone.write_window(window, pending.pop(window), fetched_at)
            if window in writes:  # a record past the delivery horizon reopened the window
                write = replace(write, added=write.added + writes[window].added)
            writes[window] = write

    objects = trail.objects_for(start, end)
    for item, records in trail.read_ahead(objects):
        # No object delivered from here on holds records of windows that ended before this.
        flush(item.delivered - trail.max_delivery_delay)
        landing.objects_read += 1
        if isinstance(records, MalformedObjectError):
            landing.malformed[trail.location.url(item.key)] = str(records)
            continue
        for record in records:
            if not isinstance(record, dict):
                landing.unplaceable.append({"object": item.key, "not_an_object": record})
                continue
            moment = zone.shape.record_time(record)
            if moment is None:
                landing.unplaceable.append(record)
                continue
            if not start <= moment < end:
                landing.outside_range += 1
                continue
            window = window_start(moment)
            pending[window].append(record)
            sources[window].add(item.key)
            delays[window].append((item.delivered - moment).total_seconds())
            landing.records_in_range += 1
    flush(None)
    moment = window_start(start)
    while moment < end:
        if moment not in writes:
            writes[moment] = zone.write_window(moment, [], fetched_at)
        waits = delays.get(moment, [])
        landing.deliveries[moment] = WindowDelivery(
            objects=len(sources.get(moment, ())),
            delay_p50_seconds=round(statistics.median(waits), 1) if waits else None,
            delay_max_seconds=round(max(waits), 1) if waits else None,
        )
        moment += WINDOW
    landing.writes = [writes[w] for w in sorted(writes)]
    landing.list_requests = trail.list_requests
    if landing.malformed:
        landing.malformed_listed_in = zone.write_unplaceable(
            start,
            end,
            [{"object": key, "reason": why} for key, why in sorted(landing.malformed.items())],
            folder=MALFORMED_FOLDER,
        )
    return landing
