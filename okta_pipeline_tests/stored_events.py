"""Events and findings on the node under a test's own index prefixes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opensearchpy import OpenSearch

from okta_pipeline.lib.cloudtrail.index import CLOUDTRAIL_LOGS
from okta_pipeline.lib.cloudtrail.index import index_template as cloudtrail_template
from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD, Event, window_start
from okta_pipeline.lib.opensearch.bulk_loader import DeadLetters, LoadReport, load_windows
from okta_pipeline.lib.opensearch.index_setup import (
    ensure_index_template,
    ensure_template,
    managed_template_name,
)
from okta_pipeline.lib.opensearch.okta_index import daily_indices


@dataclass(frozen=True)
class Prefixes:
    logs: str
    findings: str

    @property
    def logs_index(self) -> str:
        return daily_indices(self.logs)


def load_by_window(
    opensearch: OpenSearch, prefix: str, events: list[Event], tmp_path: Path
) -> LoadReport:
    """Load events by window, as the pipeline does, under the prefix's template."""
    ensure_template(opensearch, prefix)
    by_window: dict[datetime, list[Event]] = {}
    for event in events:
        published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
        by_window.setdefault(window_start(published), []).append(event)
    return load_windows(
        opensearch, sorted(by_window.items()), prefix, DeadLetters(tmp_path / "dead.jsonl.gz")
    )


def index_events(opensearch: OpenSearch, prefix: str, events: list[Event], tmp_path: Path) -> None:
    """Load events that are all valid, and make them searchable."""
    report = load_by_window(opensearch, prefix, events, tmp_path)
    assert report.dead_lettered == 0, report.summary()
    opensearch.indices.refresh(index=f"{prefix}-*")


def index_records(
    opensearch: OpenSearch, prefix: str, records: list[Event], tmp_path: Path
) -> None:
    """Load CloudTrail records (all valid) under `prefix`'s template, and make them searchable."""
    ensure_index_template(opensearch, managed_template_name(prefix), cloudtrail_template(prefix))
    by_window: dict[datetime, list[Event]] = {}
    for record in records:
        moment = CLOUDTRAIL_RECORD.record_time(record)
        assert moment is not None, record
        by_window.setdefault(window_start(moment), []).append(record)
    report = load_windows(
        opensearch,
        sorted(by_window.items()),
        prefix,
        DeadLetters(tmp_path / "dead-records.jsonl.gz"),
        source=CLOUDTRAIL_LOGS,
    )
    assert report.dead_lettered == 0, report.summary()
    opensearch.indices.refresh(index=f"{prefix}-*", params={"ignore_unavailable": "true"})
