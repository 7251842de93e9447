"""Evaluate windows and revise what is stored: the one path for runs, re-runs and backfills.

A re-evaluated window writes its findings again under the same ids. A stored finding that the
re-evaluation no longer produces (a late event moved a threshold's crossing to an earlier
window, completed a sequence, or the detection's version changed) is marked `superseded`,
never deleted, naming the findings that replace it. Events can change findings after their
own window (a threshold's span, a stateful detection's horizon), so findings within a
detection's horizon after the range are checked again too, where any are stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch, helpers

from okta_pipeline.lib.detections.engine import Evaluation, evaluate
from okta_pipeline.lib.detections.exceptions import DetectionException
from okta_pipeline.lib.detections.findings import (
    SUPERSEDED,
    Finding,
    WriteReport,
    entity_key,
    write_findings,
)
from okta_pipeline.lib.detections.model import Detection
from okta_pipeline.lib.detections.search import iso, parse_time
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import WINDOW

STORED_PAGE = 1000


@dataclass(frozen=True)
class StoredFinding:
    """A finding as stored, with what revising it needs."""

    id: str
    index: str
    detection_id: str
    version: int
    entity_key: str
    window: datetime


@dataclass(frozen=True)
class Superseded:
    finding: StoredFinding
    by: tuple[str, ...]
    """The findings of the same detection and entity that replace it (none: it just ended)."""
    reason: str


@dataclass
class Revision:
    """What evaluating [start, end) wrote and revised."""

    evaluation: Evaluation
    later: list[Finding] = field(default_factory=list)
    """Findings of windows after the range, written while checking them again."""
    superseded: list[Superseded] = field(default_factory=list)
    written: WriteReport | None = None
    """None for a dry run."""

    @property
    def findings(self) -> list[Finding]:
        return [*self.evaluation.findings, *self.later]


def revise_findings(
    client: OpenSearch,
    logs_index: str,
    findings_prefix: str,
    detections: Sequence[Detection],
    start: datetime,
    end: datetime,
    evaluated_at: datetime,
    cloudtrail_index: str | None = None,
    sessions_index: str | None = None,
    exceptions: Mapping[str, Sequence[DetectionException]] | None = None,
    dry_run: bool = False,
) -> Revision:
    """Evaluate `detections` over [start, end), write their findings and supersede what no
    longer holds, in the range and within each detection's horizon after it."""

    def run(chosen: Sequence[Detection], since: datetime, until: datetime) -> Evaluation:
        return evaluate(
            client,
            logs_index,
            chosen,
            since,
            until,
            cloudtrail_index=cloudtrail_index,
            sessions_index=sessions_index,
            exceptions=exceptions,
        )

    revision = Revision(run(detections, start, end))
    stored = stored_findings(client, findings_prefix, [d.id for d in detections], start, end)
    horizons = {d.id: d.horizon for d in detections if d.horizon > timedelta(0)}
    if horizons:
        after = [
            f
            for f in stored_findings(
                client, findings_prefix, sorted(horizons), end, end + max(horizons.values())
            )
            if f.window < end + horizons[f.detection_id]
        ]
        if after:
            rechecked = [d for d in detections if d.id in {f.detection_id for f in after}]
            until = max(f.window for f in after) + WINDOW
            later = run(rechecked, end, until)
            revision.evaluation.requests += later.requests
            revision.later = [
                f for f in later.findings if f.window < end + horizons[f.detection.id]
            ]
            stored += after
    produced = {f.id: f for f in revision.findings}
    revision.superseded = [
        Superseded(s, _replacements(s, produced.values()), _reason(s, detections, start, end))
        for s in stored
        if s.id not in produced
    ]
    if dry_run:
        return revision
    revision.written = write_findings(
        client,
        findings_prefix,
        revision.findings,
        evaluated_at,
        logs_index,
        cloudtrail_index,
        evaluated_over=(start, end),
    )
    mark_superseded(client, revision.superseded, evaluated_at, (start, end))
    return revision


def stored_findings(
    client: OpenSearch, prefix: str, detection_ids: Sequence[str], start: datetime, end: datetime
) -> list[StoredFinding]:
    """The findings of these detections in the windows of [start, end) that are not
    superseded (active or suppressed)."""
    if not detection_ids:
        return []
    body: dict[str, Any] = {
        "size": STORED_PAGE,
        "query": {
            "bool": {
                "filter": [
                    {"terms": {"detection.id": list(detection_ids)}},
                    {"range": {"window.start": {"gte": iso(start), "lt": iso(end)}}},
                ],
                "must_not": [{"term": {"status": SUPERSEDED}}],
            }
        },
        "sort": [{"window.start": "asc"}, {"finding_id": "asc"}],
        "_source": ["finding_id", "detection", "entity_key", "window", "status"],
    }
    found: list[StoredFinding] = []
    while True:
        hits = client.search(
            index=daily_indices(prefix),
            body=body,
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )["hits"]["hits"]
        for hit in hits:
            source = hit["_source"]
            if source.get("status") == SUPERSEDED:
                continue  # an index older than the status mapping: filtered here instead
            found.append(
                StoredFinding(
                    id=str(source["finding_id"]),
                    index=str(hit["_index"]),
                    detection_id=str(source["detection"]["id"]),
                    version=int(source["detection"]["version"]),
                    entity_key=str(source["entity_key"]),
                    window=parse_time(source["window"]["start"]),
                )
            )
        if len(hits) < STORED_PAGE:
            return found
        body["search_after"] = hits[-1]["sort"]


def mark_superseded(
    client: OpenSearch,
    superseded: Sequence[Superseded],
    at: datetime,
    evaluated_over: tuple[datetime, datetime],
) -> None:
    """Mark each finding superseded in place: its document stays, with why and by what."""
    if not superseded:
        return
    actions = (
        {
            "_op_type": "update",
            "_index": s.finding.index,
            "_id": s.finding.id,
            "doc": {
                "status": SUPERSEDED,
                "superseded": {"at": iso(at), "by": list(s.by), "reason": s.reason},
                "evaluated_over": {"start": iso(evaluated_over[0]), "end": iso(evaluated_over[1])},
            },
        }
        for s in superseded
    )
    for ok, item in helpers.streaming_bulk(
        client, actions, max_retries=5, initial_backoff=1, raise_on_error=False
    ):
        if not ok:
            outcome = item.get("update", {})
            raise RuntimeError(
                f"OpenSearch refused to mark finding {outcome.get('_id')} superseded: "
                f"{outcome.get('error')}; nothing was lost, re-run the partitions."
            )


def _replacements(stale: StoredFinding, produced: Iterable[Finding]) -> tuple[str, ...]:
    return tuple(
        sorted(
            f.id
            for f in produced
            if f.detection.id == stale.detection_id and entity_key(f.entity) == stale.entity_key
        )
    )


def _reason(
    stale: StoredFinding, detections: Sequence[Detection], start: datetime, end: datetime
) -> str:
    current = next((d.version for d in detections if d.id == stale.detection_id), stale.version)
    if current != stale.version:
        return f"the detection changed from version {stale.version} to {current}"
    return (
        f"evaluated again over {start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC, its events no longer "
        "meet the detection (events arrived or changed since it was written)"
    )


def by_window(superseded: Sequence[Superseded]) -> dict[datetime, int]:
    counts: dict[datetime, int] = defaultdict(int)
    for s in superseded:
        counts[s.finding.window] += 1
    return dict(counts)
