"""Every detection's examples on the node, each in its own twelve hours, and the pipeline's
findings over all of them: what the example tests and the monitor equivalence test share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opensearchpy import OpenSearch

from okta_pipeline.lib.cloudtrail.index import daily_indices as cloudtrail_indices
from okta_pipeline.lib.correlation.identity_link import (
    LinkRules,
    link_sessions,
    sessions_indices,
    write_links,
)
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.engine import Evaluation, evaluate
from okta_pipeline.lib.detections.model import Detection, Example
from okta_pipeline.lib.detections.search import EventSearch, cloudtrail_search
from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD, Event, window_start
from okta_pipeline.lib.opensearch.index_setup import drop_managed_prefix
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import WINDOW
from okta_pipeline_tests.detections.example_events import example_events
from okta_pipeline_tests.detections.example_records import example_records
from okta_pipeline_tests.stored_events import index_events, index_records

CATALOG = load_catalog()
CASES = [(d, n, e) for d in CATALOG for n, e in enumerate(d.examples)]
# Each example gets its own twelve hours, far from the others' windows and thresholds.
FIRST_ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SLOT = timedelta(hours=12)


def case_id(detection: Detection, number: int, example: Example) -> str:
    kind = (
        "positive" if example.expect_finding else "suppressed" if example.suppressed else "negative"
    )
    return f"{detection.id}-{kind}-{number}"


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

    @property
    def cloudtrail_indices(self) -> str:
        return cloudtrail_indices(cloudtrail_prefix(self.prefix))

    @property
    def sessions_indices(self) -> str:
        return sessions_indices(sessions_prefix(self.prefix))


def cloudtrail_prefix(prefix: str) -> str:
    return f"{prefix}-aws"


def sessions_prefix(prefix: str) -> str:
    return f"{prefix}-sessions"


def load_examples(opensearch: OpenSearch, prefix: str, tmp_path: Path) -> LoadedExamples:
    """Index every example's events under `prefix` and evaluate the catalog over them."""
    events: list[Event] = []
    records: list[Event] = []
    uuids: dict[tuple[str, int], set[str]] = {}
    windows: dict[tuple[str, int], set[datetime]] = {}
    for slot, (detection, number, example) in enumerate(CASES):
        anchor, tag = FIRST_ANCHOR + slot * SLOT, f"{slot:03d}"
        built = example_events(example, anchor, tag)
        trail = example_records(example, anchor, tag)
        uuids[(detection.id, number)] = {e["uuid"] for e in built} | {r["eventID"] for r in trail}
        windows[(detection.id, number)] = {window_start(_published(e)) for e in built} | {
            window_start(CLOUDTRAIL_RECORD.record_time(r) or anchor) for r in trail
        }
        events.extend(built)
        records.extend(trail)
    index_events(opensearch, prefix, events, tmp_path)
    aws, sessions = cloudtrail_prefix(prefix), sessions_prefix(prefix)
    index_records(opensearch, aws, records, tmp_path)
    every_window = {w for found in windows.values() for w in found}
    start, end = min(every_window), max(every_window) + WINDOW
    link_examples(opensearch, prefix, start, end)
    evaluation = evaluate(
        opensearch,
        daily_indices(prefix),
        CATALOG,
        start,
        end,
        cloudtrail_index=cloudtrail_indices(aws),
        sessions_index=sessions_indices(sessions),
    )
    return LoadedExamples(prefix, uuids, windows, evaluation)


def link_examples(opensearch: OpenSearch, prefix: str, start: datetime, end: datetime) -> None:
    """Link the examples' AWS sessions to their Okta users, as the identity link asset does."""
    okta = EventSearch(opensearch, daily_indices(prefix))
    trail = cloudtrail_search(opensearch, cloudtrail_indices(cloudtrail_prefix(prefix)))
    links = link_sessions(okta, trail, start, end, LinkRules())
    write_links(opensearch, sessions_prefix(prefix), links)
    opensearch.indices.refresh(index=sessions_indices(sessions_prefix(prefix)))


def drop_examples(opensearch: OpenSearch, prefix: str) -> None:
    """Drop what `load_examples` wrote beside the Okta prefix."""
    drop_managed_prefix(opensearch, cloudtrail_prefix(prefix))
    drop_managed_prefix(opensearch, sessions_prefix(prefix))


def _published(event: Event) -> datetime:
    return datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
