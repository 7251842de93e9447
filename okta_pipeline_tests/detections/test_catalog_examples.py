"""Every detection's positive and negative examples, evaluated together on the real node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import Evaluation, evaluate
from okta_pipeline.lib.detections.model import Detection, Example
from okta_pipeline.lib.landing import Event, window_start
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, load_windows
from okta_pipeline.lib.opensearch.index_setup import drop_prefix, ensure_template
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import WINDOW
from okta_pipeline_tests.detections.example_events import example_events

CATALOG = load_catalog()
CASES = [(d, n, e) for d in CATALOG for n, e in enumerate(d.examples)]
# Each example gets its own twelve hours, far from the others' windows and thresholds.
FIRST_ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SLOT = timedelta(hours=12)


@dataclass(frozen=True)
class Evaluated:
    evaluation: Evaluation
    uuids: dict[tuple[str, int], set[str]]


@pytest.fixture(scope="module")
def evaluated(
    opensearch: OpenSearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Evaluated]:
    """Load every example's events into one prefix; run the whole catalog over all of them."""
    prefix = f"test-examples-{uuid.uuid4().hex[:8]}"
    ensure_template(opensearch, prefix)
    events: list[Event] = []
    uuids: dict[tuple[str, int], set[str]] = {}
    for slot, (detection, number, example) in enumerate(CASES):
        built = example_events(example, FIRST_ANCHOR + slot * SLOT, f"{slot:03d}")
        uuids[(detection.id, number)] = {e["uuid"] for e in built}
        events.extend(built)
    by_window: dict[datetime, list[Event]] = {}
    for event in events:
        published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
        by_window.setdefault(window_start(published), []).append(event)
    dead = DeadLetters(Path(tmp_path_factory.mktemp("examples")) / "dead.jsonl.gz")
    report = load_windows(opensearch, sorted(by_window.items()), prefix, dead)
    assert report.dead_lettered == 0 and report.failed == 0, report.summary()
    opensearch.indices.refresh(index=f"{prefix}-*")
    start, end = min(by_window), max(by_window) + WINDOW
    try:
        yield Evaluated(evaluate(opensearch, daily_indices(prefix), CATALOG, start, end), uuids)
    finally:
        drop_prefix(opensearch, prefix)


@pytest.mark.parametrize(
    ("detection", "number", "example"),
    CASES,
    ids=[f"{d.id}-{'positive' if e.expect_finding else 'negative'}-{n}" for d, n, e in CASES],
)
def test_example(evaluated: Evaluated, detection: Detection, number: int, example: Example) -> None:
    mine = evaluated.uuids[(detection.id, number)]
    findings = [f for f in evaluated.evaluation.findings if f.detection.id == detection.id]
    if example.expect_finding:
        found = [f for f in findings if {e.uuid for e in f.evidence} <= mine and f.evidence]
        assert found, f"{detection.id} missed its example {example.name!r}"
    else:
        fired = [f.summary for f in findings if {e.uuid for e in f.evidence} & mine]
        assert not fired, f"{detection.id} fired on its negative example {example.name!r}: {fired}"


def test_every_detection_has_examples_both_ways() -> None:
    assert len(CATALOG) >= 30
    for detection in CATALOG:
        kinds = {e.expect_finding for e in detection.examples}
        assert kinds == {True, False}, detection.id
