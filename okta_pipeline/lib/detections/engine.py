"""Evaluate detections over a range of windows: one code path for runs, backfills and the CLI."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.exceptions import DetectionException, first_match
from okta_pipeline.lib.detections.findings import Finding
from okta_pipeline.lib.detections.model import (
    Detection,
    EvidenceEvent,
    Match,
    SingleEventLogic,
    StatefulLogic,
    ThresholdLogic,
)
from okta_pipeline.lib.detections.search import (
    CLOUDTRAIL,
    EVIDENCE_CAP,
    EventSearch,
    cloudtrail_search,
)
from okta_pipeline.lib.detections.single_event import single_event_matches
from okta_pipeline.lib.detections.threshold import threshold_matches


@dataclass
class Evaluation:
    """The findings of a run over [start, end), and what it cost."""

    start: datetime
    end: datetime
    findings: list[Finding] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    requests: int = 0

    def by_detection(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            counts[finding.detection.id] += 1
        return dict(counts)

    def by_window(self) -> dict[datetime, list[Finding]]:
        grouped: dict[datetime, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            grouped[finding.window].append(finding)
        return grouped


class DetectionFailedError(RuntimeError):
    """A detection could not be evaluated; the message names it and OpenSearch's reason."""


def evaluate(
    client: OpenSearch,
    logs_index: str,
    detections: Iterable[Detection],
    start: datetime,
    end: datetime,
    cloudtrail_index: str | None = None,
    sessions_index: str | None = None,
    exceptions: Mapping[str, Sequence[DetectionException]] | None = None,
) -> Evaluation:
    """Run each detection over [start, end) (window-aligned); findings lie in those windows.

    Cross-source detections also read `cloudtrail_index` and the identity links in
    `sessions_index`; without them they find nothing. Each finding is judged against its
    detection's exceptions: those of `exceptions` (a deployment's, by detection id) or else the
    catalog's."""
    cloudtrail = cloudtrail_search(client, cloudtrail_index) if cloudtrail_index else None
    search = EventSearch(client, logs_index, cloudtrail=cloudtrail, sessions_index=sessions_index)
    evaluation = Evaluation(start, end)
    for detection in detections:
        began = time.monotonic()
        try:
            matches = matches_of(detection, search, start, end)
        except Exception as error:
            raise DetectionFailedError(
                f"detection {detection.id} (from {detection.source}) failed over "
                f"{start:%Y-%m-%d %H:%M}-{end:%Y-%m-%d %H:%M} UTC: {_reason(error)}"
            ) from error
        found = findings_of(detection, [m for m in matches if start <= m.window < end])
        excepted = (exceptions or {}).get(detection.id, detection.exceptions)
        evaluation.findings.extend(with_exceptions(search, detection, found, excepted))
        evaluation.seconds[detection.id] = round(time.monotonic() - began, 3)
    evaluation.requests = search.requests
    return evaluation


def matches_of(
    detection: Detection, search: EventSearch, start: datetime, end: datetime
) -> list[Match]:
    logic = detection.logic
    if isinstance(logic, SingleEventLogic):
        return single_event_matches(detection, search, start, end)
    if isinstance(logic, ThresholdLogic):
        return threshold_matches(logic, search, start, end)
    assert isinstance(logic, StatefulLogic)
    return logic.function(search, start, end, logic.parameters)


def findings_of(detection: Detection, matches: Sequence[Match]) -> list[Finding]:
    """One finding per (window, entity): matches of the same pair are merged."""
    merged: dict[tuple[datetime, tuple[tuple[str, str], ...]], list[Match]] = defaultdict(list)
    for match in matches:
        merged[(match.window, tuple(sorted(match.entity.items())))].append(match)
    findings = []
    for (window, entity), group in sorted(merged.items()):
        events: dict[tuple[str, str], EvidenceEvent] = {}
        for match in group:
            events.update({(e.source, e.uuid): e for e in match.events})
        evidence = sorted(events.values(), key=lambda e: (e.published, e.source, e.uuid))
        if not evidence:
            continue  # its events went away between two reads (a window being re-loaded)
        counted = sum(m.count for m in group if m.count is not None)
        details: dict[str, Any] = {}
        for match in group:
            details.update(match.details)
        findings.append(
            Finding(
                detection=detection,
                window=window,
                entity=dict(entity),
                evidence=tuple(evidence[:EVIDENCE_CAP]),
                count=max(counted, len(evidence)),
                details=details,
            )
        )
    return findings


def with_exceptions(
    search: EventSearch,
    detection: Detection,
    findings: list[Finding],
    exceptions: Sequence[DetectionException],
) -> list[Finding]:
    """The findings, each naming the first of `exceptions` that matches it (if any); the
    values of the fields they name are read from the Okta events each finding cites."""
    if not exceptions or not findings:
        return findings
    fields = sorted({f for e in exceptions for f in e.event_fields(detection.entity)})
    cited = [e.uuid for f in findings for e in f.evidence if e.source != CLOUDTRAIL]
    values = search.values_of(cited, fields) if fields and cited else {}
    judged = []
    for finding in findings:
        events = [
            values[e.uuid] for e in finding.evidence if e.source != CLOUDTRAIL and e.uuid in values
        ]
        matched = first_match(exceptions, finding.entity, events)
        judged.append(replace(finding, exception=matched) if matched else finding)
    return judged


def _reason(error: Exception) -> str:
    info = getattr(error, "info", None)
    if isinstance(info, dict) and "error" in info:
        root = info["error"].get("root_cause", [{}])[0] if isinstance(info["error"], dict) else {}
        return f"{info['error'].get('type', '')}: {root.get('reason', info['error'])}"
    return f"{type(error).__name__}: {error}"
