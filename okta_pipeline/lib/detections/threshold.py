"""Threshold rules over a range of windows: one aggregation, then sliding sums in Python.

Counts are read once for [range start - span, range end) in 5-minute buckets per entity (and,
for distinct counts, per value), so a day costs one paged aggregation, not one per window. A
finding is raised in the window where the count over [window end - span, window end) reaches
the threshold while it had not at the window's start: one finding per burst, in the window
where it became one, whatever range the run covers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from okta_pipeline.lib.detections.model import Match, ThresholdLogic
from okta_pipeline.lib.detections.search import EventSearch, term
from okta_pipeline.lib.windows import WINDOW


def threshold_matches(
    logic: ThresholdLogic, search: EventSearch, start: datetime, end: datetime
) -> list[Match]:
    # Per entity and 5-minute bucket: the number of events, and the distinct values seen.
    events: dict[tuple[str, ...], Counter[datetime]] = defaultdict(Counter)
    values: dict[tuple[str, ...], dict[datetime, set[str]]] = defaultdict(lambda: defaultdict(set))
    sources: list[dict[str, Any]] = [
        {f"g{n}": {"terms": {"field": field}}} for n, field in enumerate(logic.group_by)
    ]
    if logic.distinct_field:
        sources.append({"value": {"terms": {"field": logic.distinct_field}}})
    sources.append({"bucket": {"date_histogram": {"field": "published", "fixed_interval": "5m"}}})
    for bucket in search.composite(logic.query, start - logic.span, end, sources):
        key = bucket["key"]
        entity = tuple(str(key[f"g{n}"]) for n in range(len(logic.group_by)))
        moment = datetime.fromtimestamp(key["bucket"] / 1000, UTC)
        events[entity][moment] += int(bucket["doc_count"])
        if logic.distinct_field:
            values[entity][moment].add(str(key["value"]))

    def measure(entity: tuple[str, ...], until: datetime) -> int:
        """The count over [until - span, until)."""
        since = until - logic.span
        if logic.distinct_field:
            seen: set[str] = set()
            for moment, found in values[entity].items():
                if since <= moment < until:
                    seen |= found
            return len(seen)
        return sum(n for moment, n in events[entity].items() if since <= moment < until)

    crossings: list[tuple[tuple[str, ...], datetime]] = []
    for entity, buckets in events.items():
        for window in sorted(b for b in buckets if start <= b < end):
            if measure(entity, window + WINDOW) >= logic.minimum > measure(entity, window):
                crossings.append((entity, window))
    return _with_evidence(logic, search, crossings)


def _with_evidence(
    logic: ThresholdLogic,
    search: EventSearch,
    found: list[tuple[tuple[str, ...], datetime]],
) -> list[Match]:
    """The events behind each crossing: those of the entity in the span ending with its window."""
    requests = []
    for entity, window in found:
        filters = [logic.query, *(term(f, v) for f, v in zip(logic.group_by, entity, strict=True))]
        requests.append(
            ({"bool": {"filter": filters}}, window + WINDOW - logic.span, window + WINDOW)
        )
    matches = []
    for (entity, window), (events, total) in zip(found, search.evidence(requests), strict=True):
        matches.append(
            Match(
                window=window,
                entity=dict(zip(logic.group_by, entity, strict=True)),
                events=tuple(events),
                count=total,
            )
        )
    return matches
