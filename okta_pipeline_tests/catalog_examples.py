"""Every detection's examples on the node, each in its own twelve hours, and the pipeline's
findings over all of them: what the example tests and the monitor equivalence test share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import Evaluation, evaluate
from okta_pipeline.lib.detections.model import Detection, Example
from okta_pipeline.lib.landing import Event, window_start
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import WINDOW
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.stored_events import index_events

CATALOG = load_catalog()
CASES = [(d, n, e) for d in CATALOG for n, e in enumerate(d.examples)]
# Each example gets its own twelve hours, far from the others' windows and thresholds.
FIRST_ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SLOT = timedelta(hours=12)


def case_id(detection: Detection, number: int, example: Example) -> str:
    return f"{detection.id}-{'positive' if example.expect_finding else 'negative'}-{number}"


@dataclass(frozen=True)
class LoadedExamples:
    prefix: str
    uuids: dict[tuple[str, int], set[str]]
    """The uuids of each example's events, by (detection id, example number)."""
    windows: dict[tuple[str, int], set[datetime]]
    """The windows that hold each example's events."""
    evaluation: Evaluation
    """The whole catalog evaluated by the pipeline over every example's windows."""

    @property
    def indices(self) -> str:
        return daily_indices(self.prefix)


def load_examples(opensearch: OpenSearch, prefix: str, tmp_path: Path) -> LoadedExamples:
    """Index every example's events under `prefix` and evaluate the catalog over them."""
    events: list[Event] = []
    uuids: dict[tuple[str, int], set[str]] = {}
    windows: dict[tuple[str, int], set[datetime]] = {}
    for slot, (detection, number, example) in enumerate(CASES):
        built = example_events(example, FIRST_ANCHOR + slot * SLOT, f"{slot:03d}")
        uuids[(detection.id, number)] = {e["uuid"] for e in built}
        windows[(detection.id, number)] = {window_start(_published(e)) for e in built}
        events.extend(built)
    index_events(opensearch, prefix, events, tmp_path)
    every_window = {w for found in windows.values() for w in found}
    start, end = min(every_window), max(every_window) + WINDOW
    evaluation = evaluate(opensearch, daily_indices(prefix), CATALOG, start, end)
    return LoadedExamples(prefix, uuids, windows, evaluation)


def _published(event: Event) -> datetime:
    return datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
