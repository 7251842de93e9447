"""Single-event rules over a range: one paged query per rule, grouped by entity and window."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from okta_pipeline.lib.detections.model import Detection, Match, SingleEventLogic
from okta_pipeline.lib.detections.search import EVIDENCE_CAP, EventSearch, Hit
from okta_pipeline.lib.windows import window_start

NO_VALUE = "-"


def entity_value(value: object) -> str:
    """A field's value as an entity key; a list (several targets) as its sorted values."""
    if isinstance(value, list):
        parts = sorted({str(v) for v in value if v not in (None, "", "unknown")})
        return ",".join(parts) or NO_VALUE
    return NO_VALUE if value in (None, "") else str(value)


def single_event_matches(
    detection: Detection, search: EventSearch, start: datetime, end: datetime
) -> list[Match]:
    assert isinstance(detection.logic, SingleEventLogic)
    groups: dict[tuple[datetime, tuple[tuple[str, str], ...]], list[Hit]] = defaultdict(list)
    for hit in search.scan(detection.logic.query, start, end, fields=detection.entity):
        entity = tuple((field, entity_value(hit.get(field))) for field in detection.entity)
        groups[(window_start(hit.published), entity)].append(hit)
    return [
        Match(
            window=window,
            entity=dict(entity),
            events=tuple(h.evidence for h in hits[:EVIDENCE_CAP]),
            count=len(hits),
        )
        for (window, entity), hits in groups.items()
    ]
