"""The central test of the monitors: each one, run by Alerting's `_execute` at the end of a
window over every catalog example, flags exactly the entities the pipeline found in that window.

Single-event monitors flag every entity with a matching event in the window, as the pipeline
writes a finding per entity and window. A threshold monitor flags an entity for as long as its
count over the span stays at the threshold, and Alerting raises an alert only when it starts to;
the pipeline writes the finding in the window where the count reaches the threshold. So the
entities a threshold monitor flags at a window's end and did not flag at its start are the
pipeline's findings for the window.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.model import Detection, Kind
from okta_pipeline.lib.detections.single_event import NO_VALUE
from okta_pipeline.lib.monitors.compile import MonitorOptions, pipeline_only_reason
from okta_pipeline.lib.monitors.sync import MonitorSync, has_alerting
from okta_pipeline.lib.windows import WINDOW
from okta_pipeline_tests.catalog_examples import CASES, CATALOG, LoadedExamples
from okta_pipeline_tests.monitors.helpers import catalog_monitors, execute

EXPRESSIBLE = [d for d in CATALOG if pipeline_only_reason(d) is None]
Entity = tuple[str, ...]


@pytest.fixture(scope="module")
def monitor_ids(
    opensearch: OpenSearch, catalog_examples: LoadedExamples
) -> Iterator[dict[str, str]]:
    """The catalog's monitors over the examples' indices, reading up to their period end."""
    assert has_alerting(opensearch), "the cluster under test has no Alerting plugin"
    owner = f"test-equivalence-{uuid.uuid4().hex[:8]}"
    options = MonitorOptions(catalog_examples.indices, owner, lag=timedelta(0), enabled=False)
    sync = MonitorSync(opensearch, owner)
    try:
        sync.sync(catalog_monitors(EXPRESSIBLE, options))
        yield {detection_id: stored.id for detection_id, stored in sync.stored().items()}
    finally:
        sync.sync([])


def flagged(opensearch: OpenSearch, monitor_id: str, window: datetime) -> set[Entity]:
    """The entities the monitor flags when it runs at the end of `window`."""
    keys = execute(opensearch, monitor_id, window + WINDOW)
    return {tuple(NO_VALUE if v is None else str(v) for v in key) for key in keys}


def found(examples: LoadedExamples, detection: Detection, window: datetime) -> set[Entity]:
    """The pipeline's findings for the window, one entity per value of a multi-valued field
    (the pipeline joins a field's values into one entity; a composite bucket holds one)."""
    entities: set[Entity] = set()
    for finding in examples.evaluation.findings:
        if finding.detection.id == detection.id and finding.window == window:
            values = [finding.entity[field].split(",") for field in entity_fields(detection)]
            entities |= set(itertools.product(*values))
    return entities


def entity_fields(detection: Detection) -> tuple[str, ...]:
    logic = detection.logic
    return getattr(logic, "group_by", None) or detection.entity


@pytest.mark.parametrize("detection", EXPRESSIBLE, ids=[d.id for d in EXPRESSIBLE])
def test_the_monitor_flags_what_the_pipeline_finds(
    opensearch: OpenSearch,
    catalog_examples: LoadedExamples,
    monitor_ids: dict[str, str],
    detection: Detection,
) -> None:
    monitor = monitor_ids[detection.id]
    compared = 0
    fired = 0
    for other, number, _ in CASES:
        for window in sorted(catalog_examples.windows[(other.id, number)]):
            if other.id != detection.id and not found(catalog_examples, detection, window):
                continue  # another detection's example, where the pipeline found nothing
            now = flagged(opensearch, monitor, window)
            if detection.kind is Kind.THRESHOLD:
                now -= flagged(opensearch, monitor, window - WINDOW)
            expected = found(catalog_examples, detection, window)
            assert now == expected, f"{detection.id} at {window:%Y-%m-%d %H:%M}"
            compared += 1
            fired += bool(now)
    assert compared and fired, f"{detection.id}: no window compared where either engine fired"
