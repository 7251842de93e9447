"""Findings: what a detection found in a window, stored idempotently in `okta-findings-*`.

A finding's id is a hash of the detection id and version, the entity and the window, so a
re-run or backfill writes the same document again instead of a second one. Its `status` is
`active` (alerted), `suppressed` (an exception matched it: kept, not alerted) or `superseded`
(a re-evaluation no longer finds it: kept, and a delivered alert is told so).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch, helpers

from okta_pipeline.lib.detections.exceptions import DetectionException
from okta_pipeline.lib.detections.model import Detection, EvidenceEvent
from okta_pipeline.lib.detections.search import CLOUDTRAIL, iso
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.spec_hash import spec_hash
from okta_pipeline.lib.windows import WINDOW

FINDINGS_PREFIX = "okta-findings"

FINDINGS_MAPPING_VERSION = 3
ACTIVE = "active"
SUPPRESSED = "suppressed"
SUPERSEDED = "superseded"
_PLACEHOLDER = re.compile(r"\{([\w.@]+)\}")
_KEYWORD = {"type": "keyword", "ignore_above": 1024}


def finding_id(detection_id: str, version: int, entity: Mapping[str, str], window: datetime) -> str:
    identity = [detection_id, version, sorted(entity.items()), iso(window)]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:40]


def entity_key(entity: Mapping[str, str]) -> str:
    return "|".join(f"{field}={value}" for field, value in sorted(entity.items()))


@dataclass(frozen=True)
class Finding:
    detection: Detection
    window: datetime
    entity: Mapping[str, str]
    evidence: tuple[EvidenceEvent, ...]
    count: int
    details: Mapping[str, Any] = field(default_factory=dict)
    exception: DetectionException | None = None
    """The exception that matched it: it suppresses the finding, unless it only audits."""

    @property
    def status(self) -> str:
        return SUPPRESSED if self.exception is not None and not self.exception.audit else ACTIVE

    @property
    def id(self) -> str:
        return finding_id(self.detection.id, self.detection.version, self.entity, self.window)

    @property
    def first_seen(self) -> datetime:
        """The first evidence event's time (the window's start for a monitor's finding that
        names no events)."""
        return min((e.published for e in self.evidence), default=self.window)

    @property
    def last_seen(self) -> datetime:
        return max((e.published for e in self.evidence), default=self.window)

    @property
    def summary(self) -> str:
        values: dict[str, str] = {
            **self.entity,
            "count": str(self.count),
            "title": self.detection.title,
            **{k: str(v) for k, v in self.details.items()},
        }
        template = (
            self.detection.summary
            or "{title}: " + ", ".join(f"{{{f}}}" for f in self.entity) + " ({count} events)"
        )
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)

    def document(
        self,
        evaluated_at: datetime,
        logs_index: str,
        cloudtrail_index: str | None = None,
        evaluated_over: tuple[datetime, datetime] | None = None,
    ) -> dict[str, Any]:
        """The stored finding; `evaluated_over` is the range of the run that wrote it (a run
        over one window may also write findings of the windows after it)."""
        detection = self.detection
        aws = [e.uuid for e in self.evidence if e.source == CLOUDTRAIL]
        evidence: dict[str, Any] = {
            "index": logs_index,
            "uuids": [e.uuid for e in self.evidence if e.source != CLOUDTRAIL],
            "truncated": self.count > len(self.evidence),
        }
        if aws:
            evidence["cloudtrail"] = {"index": cloudtrail_index, "event_ids": aws}
        over = evaluated_over or (self.window, self.window + WINDOW)
        document: dict[str, Any] = {
            "finding_id": self.id,
            "status": self.status,
            "@timestamp": iso(self.last_seen),
            "detection": {
                "id": detection.id,
                "version": detection.version,
                "title": detection.title,
                "kind": detection.kind.value,
                "severity": detection.severity.value,
                "tactics": list(detection.tactics),
                "techniques": list(detection.techniques),
                "response": detection.response,
            },
            "entity_key": entity_key(self.entity),
            "entity": [{"field": f, "value": v} for f, v in sorted(self.entity.items())],
            "window": {"start": iso(self.window), "end": iso(self.window + WINDOW)},
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "count": self.count,
            "evidence": evidence,
            "details": json.dumps(self.details, sort_keys=True, default=str),
            "summary": self.summary,
            "evaluated_at": iso(evaluated_at),
            "evaluated_over": {"start": iso(over[0]), "end": iso(over[1])},
        }
        if self.exception is not None:
            document["exception"] = self.exception.describe()
        return document


def findings_index(prefix: str, window: datetime) -> str:
    return f"{prefix}-{window.astimezone(UTC):%Y.%m.%d}"


def findings_template(prefix: str, replicas: int = 0) -> dict[str, Any]:
    date = {"type": "date"}
    return {
        "index_patterns": [daily_indices(prefix)],
        "priority": 100,
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
            "mappings": {
                "dynamic": False,
                "_meta": {"mapping_version": FINDINGS_MAPPING_VERSION},
                "properties": {
                    "finding_id": _KEYWORD,
                    "status": _KEYWORD,
                    "@timestamp": date,
                    "detection": {
                        "properties": {
                            "id": _KEYWORD,
                            "version": {"type": "integer"},
                            "title": {"type": "text", "fields": {"keyword": _KEYWORD}},
                            "kind": _KEYWORD,
                            "severity": _KEYWORD,
                            "tactics": _KEYWORD,
                            "techniques": _KEYWORD,
                            "response": {"type": "text"},
                        }
                    },
                    "entity_key": _KEYWORD,
                    "entity": {"properties": {"field": _KEYWORD, "value": _KEYWORD}},
                    "window": {"properties": {"start": date, "end": date}},
                    "first_seen": date,
                    "last_seen": date,
                    "count": {"type": "integer"},
                    "evidence": {
                        "properties": {
                            "index": _KEYWORD,
                            "uuids": _KEYWORD,
                            "truncated": {"type": "boolean"},
                            "cloudtrail": {
                                "properties": {"index": _KEYWORD, "event_ids": _KEYWORD}
                            },
                        }
                    },
                    "details": {"type": "text", "index": False},
                    "summary": {"type": "text"},
                    "evaluated_at": date,
                    "evaluated_over": {"properties": {"start": date, "end": date}},
                    "exception": {
                        "properties": {
                            "name": _KEYWORD,
                            "reason": {"type": "text"},
                            "origin": _KEYWORD,
                            "audit": {"type": "boolean"},
                            "match": {"type": "object", "enabled": False},
                        }
                    },
                    "superseded": {
                        "properties": {"at": date, "by": _KEYWORD, "reason": {"type": "text"}}
                    },
                },
            },
        },
        "_meta": {"managed_by": "okta_pipeline", "description": "Findings of Okta detections"},
    }


def ensure_findings_template(client: OpenSearch, prefix: str, replicas: int = 0) -> bool:
    """Put the findings template if it differs from the cluster's; True if it changed."""
    desired = findings_template(prefix, replicas)
    desired_hash = spec_hash(desired)
    name = prefix  # templates and indices have separate names
    if client.indices.exists_index_template(name=name):
        found = client.indices.get_index_template(name=name)["index_templates"]
        if found and found[0]["index_template"].get("_meta", {}).get("spec_hash") == desired_hash:
            return False
    desired["_meta"]["spec_hash"] = desired_hash
    client.indices.put_index_template(name=name, body=desired)
    # Every change so far adds fields: existing indices take them too, so findings written
    # there from now on are searchable by them (by status, above all).
    client.indices.put_mapping(
        index=daily_indices(prefix),
        body={"properties": desired["template"]["mappings"]["properties"]},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return True


@dataclass(frozen=True)
class WriteReport:
    created: list[str]
    updated: list[str]


def write_findings(
    client: OpenSearch,
    prefix: str,
    findings: Sequence[Finding],
    evaluated_at: datetime,
    logs_index: str,
    cloudtrail_index: str | None = None,
    evaluated_over: tuple[datetime, datetime] | None = None,
) -> WriteReport:
    """Index every finding under its id; report which were new and which were written again."""
    actions = (
        {
            "_op_type": "index",
            "_index": findings_index(prefix, finding.window),
            "_id": finding.id,
            "_source": finding.document(evaluated_at, logs_index, cloudtrail_index, evaluated_over),
        }
        for finding in findings
    )
    created: list[str] = []
    updated: list[str] = []
    for ok, item in helpers.streaming_bulk(
        client, actions, max_retries=5, initial_backoff=1, raise_on_error=False
    ):
        outcome = item.get("index", {})
        if not ok:
            raise RuntimeError(
                f"OpenSearch refused finding {outcome.get('_id')} in {outcome.get('_index')}: "
                f"{outcome.get('error')}; nothing else was lost, re-run the partitions."
            )
        (created if outcome.get("result") == "created" else updated).append(str(outcome["_id"]))
    return WriteReport(created, updated)


def missing_evidence(
    client: OpenSearch,
    logs_index: str,
    findings: Iterable[Finding],
    cloudtrail_index: str | None = None,
) -> dict[str, list[str]]:
    """For each finding whose evidence is not all indexed (Okta events in the logs, CloudTrail
    records in CloudTrail's indices): the ids that are missing."""
    findings = list(findings)
    wanted = {f.id: [e.uuid for e in f.evidence] for f in findings}
    by_source: dict[str, set[str]] = {}
    for finding in findings:
        for event in finding.evidence:
            by_source.setdefault(event.source, set()).add(event.uuid)
    present: set[str] = set()
    places = {"okta": (logs_index, "uuid"), CLOUDTRAIL: (cloudtrail_index, "eventID")}
    for source, ids in by_source.items():
        index, field = places.get(source, (None, ""))
        if index is not None:
            present |= _present(client, index, field, sorted(ids))
    return {
        fid: missing
        for fid, found in wanted.items()
        if (missing := [u for u in found if u not in present])
    }


def _present(client: OpenSearch, index: str, field: str, ids: list[str]) -> set[str]:
    present: set[str] = set()
    for offset in range(0, len(ids), 1000):
        batch = ids[offset : offset + 1000]
        response = client.search(
            index=index,
            body={"size": len(batch), "query": {"terms": {field: batch}}, "_source": [field]},
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )
        present.update(str(h["_source"][field]) for h in response["hits"]["hits"])
    return present
