"""The detection catalog as OpenSearch Alerting monitors.

Single-event and threshold detections become bucket-level monitors: the detection's query over
a time range that ends at the monitor's `{{period_end}}`, bucketed by the entity with a composite
aggregation, and a bucket trigger on the count (or on a distinct count). Alerting keeps one alert
per bucket while it stays over the threshold, so an analyst sees one alert per entity, as the
pipeline writes one finding per entity.

The range is rounded down to the minute and ends `lag` before `period_end`: with the default
schedule (every five minutes, on the clock) each run covers exactly one five-minute window whose
events have had time to be loaded, the window the pipeline's finding is for. Stateful detections
read history a query cannot express and stay in the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from okta_pipeline.lib.detections.model import (
    Detection,
    Severity,
    SingleEventLogic,
    StatefulLogic,
    ThresholdLogic,
)
from okta_pipeline.lib.detections.single_event import NO_VALUE
from okta_pipeline.lib.spec_hash import spec_hash
from okta_pipeline.lib.windows import WINDOW

COMPILER_VERSION = 1
"""Raised when the compiler changes what it writes, so that the monitors are re-synced."""
MARKER = "okta_pipeline "
"""How the `_name` of a monitor's top-level query starts when the monitor is this project's.

The marker (detection, version, owner, spec hash) rides in the search itself as a named query:
Alerting leaves `ui_metadata` out of what it returns to clients other than Dashboards, while the
search comes back as stored from every API, and a name does not change what the query matches."""
ALERTING_SEVERITY = {
    Severity.CRITICAL: "1",
    Severity.HIGH: "2",
    Severity.MEDIUM: "3",
    Severity.LOW: "4",
    Severity.INFORMATIONAL: "5",
}
COMPOSITE_SIZE = 1000
LIST_FIELDS = ("target.",)
"""Fields of Okta's lists of objects: the pipeline drops "unknown" from a list's values."""
EVERY_FIVE_MINUTES = {"cron": {"expression": "*/5 * * * *", "timezone": "UTC"}}


@dataclass(frozen=True)
class MonitorOptions:
    """How a catalog becomes the monitors of one deployment."""

    indices: str
    """The Okta indices the monitors search (a pattern)."""
    owner: str
    """Which deployment's monitors these are; a sync only touches monitors of its owner."""
    lag: timedelta = timedelta(minutes=10)
    """How long after a window ends the monitor reads it: the settle delay, the fetch cadence
    and the load, so that the window's events are indexed."""
    schedule: dict[str, Any] | None = None
    """Alerting's schedule; every five minutes on the clock when None."""
    channel_id: str | None = None
    """A Notifications channel each monitor's trigger posts new alerts to (the alert receiver)."""
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.lag < timedelta(0) or self.lag % timedelta(minutes=1):
            raise ValueError("the monitors' lag must be a whole number of minutes, 0 or more")


def pipeline_only_reason(detection: Detection) -> str | None:
    """Why the detection has no monitor; None when it has one."""
    if isinstance(detection.logic, StatefulLogic):
        return "stateful: " + " ".join(detection.logic.why_not_sigma.split())
    return None


def monitor_name(detection: Detection) -> str:
    return f"okta_pipeline/{detection.id}: {detection.title}"


def trigger_id(detection: Detection) -> str:
    """Stable across updates: a trigger sent without its id is re-created by the server, and
    its active alerts move to history as DELETED."""
    return f"{detection.id}.trigger"


def action_id(detection: Detection) -> str:
    return f"{detection.id}.to-receiver"


def compile_monitor(detection: Detection, options: MonitorOptions) -> dict[str, Any] | None:
    """The monitor for a detection (None for pipeline-only ones), marked with its spec hash."""
    logic = detection.logic
    if isinstance(logic, SingleEventLogic):
        query, fields, span = logic.query, detection.entity, WINDOW
        counted, minimum, scripted = None, 1, True
    elif isinstance(logic, ThresholdLogic):
        query, fields, span = logic.query, logic.group_by, logic.span
        # The pipeline counts only events that carry every field they are grouped by.
        counted, minimum, scripted = logic.distinct_field, logic.minimum, False
    else:
        return None
    body: dict[str, Any] = {
        "type": "monitor",
        "monitor_type": "bucket_level_monitor",
        "name": monitor_name(detection),
        "enabled": options.enabled,
        "schedule": options.schedule or EVERY_FIVE_MINUTES,
        "inputs": [
            {
                "search": {
                    "indices": [options.indices],
                    "query": _search(query, fields, span, options.lag, counted, scripted),
                }
            }
        ],
        "triggers": [_trigger(detection, fields, counted, minimum, options)],
    }
    marker = {
        "detection_id": detection.id,
        "detection_version": detection.version,
        "owner": options.owner,
        "spec_hash": spec_hash(body),
    }
    body["inputs"][0]["search"]["query"]["query"]["bool"]["_name"] = MARKER + json.dumps(
        marker, sort_keys=True, separators=(",", ":")
    )
    return body


def marker_of(monitor: dict[str, Any]) -> dict[str, Any]:
    """The marker of a monitor as written or as stored; empty when it is not this project's."""
    try:
        name = monitor["inputs"][0]["search"]["query"]["query"]["bool"]["_name"]
    except (KeyError, IndexError, TypeError):
        return {}
    if not isinstance(name, str) or not name.startswith(MARKER):
        return {}
    try:
        found = json.loads(name[len(MARKER) :])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def entity_source(position: int) -> str:
    """The composite source name of the entity field at `position`."""
    return f"e{position}"


def _search(
    query: dict[str, Any],
    fields: tuple[str, ...],
    span: timedelta,
    lag: timedelta,
    counted: str | None,
    scripted: bool,
) -> dict[str, Any]:
    sources = [
        {entity_source(n): {"terms": _entity_values(field) if scripted else {"field": field}}}
        for n, field in enumerate(fields)
    ]
    entities: dict[str, Any] = {"composite": {"size": COMPOSITE_SIZE, "sources": sources}}
    if counted:
        entities["aggs"] = {"distinct": {"cardinality": {"field": counted}}}
    published = {
        "gte": _before_period_end(lag + span),
        "lt": _before_period_end(lag),
        "format": "epoch_millis",
    }
    return {
        "size": 0,
        "query": {"bool": {"filter": [query, {"range": {"published": published}}]}},
        "aggregations": {"entities": entities},
    }


ENTITY_VALUES = """
if (!doc.containsKey(params.field) || doc[params.field].size() == 0) { return params.none; }
def kept = new ArrayList();
for (def value : doc[params.field]) {
  if (value != '' && !(params.in_list && value == 'unknown')) { kept.add(value); }
}
return kept.isEmpty() ? params.none : kept;
""".strip()


def _entity_values(field: str) -> dict[str, Any]:
    """A field's values as the pipeline keys a single-event finding: a missing or empty value
    as "-", and in Okta's lists (the targets) without the "unknown" placeholder. (Alerting
    cannot take a composite's missing bucket: its trigger fails on the null key.)"""
    params = {"field": field, "none": NO_VALUE, "in_list": field.startswith(LIST_FIELDS)}
    return {"script": {"source": ENTITY_VALUES, "lang": "painless", "params": params}}


def _before_period_end(offset: timedelta) -> str:
    """Date math: `offset` before the run's period end, rounded down to the minute."""
    minutes = int(offset.total_seconds() // 60)
    return "{{period_end}}||" + (f"-{minutes}m" if minutes else "") + "/m"


def _trigger(
    detection: Detection,
    fields: tuple[str, ...],
    counted: str | None,
    minimum: int,
    options: MonitorOptions,
) -> dict[str, Any]:
    measure = "distinct" if counted else "_count"
    actions = []
    if options.channel_id:
        actions.append(
            {
                "id": action_id(detection),
                "name": "to the alert receiver",
                "destination_id": options.channel_id,
                "throttle_enabled": False,
                "subject_template": {
                    "source": f"{detection.title}: {{{{ctx.newAlerts.0.bucket_keys}}}}",
                    "lang": "mustache",
                },
                "message_template": {
                    "source": receiver_payload(detection, fields, options.lag),
                    "lang": "mustache",
                },
                "action_execution_policy": {
                    "action_execution_scope": {"per_alert": {"actionable_alerts": ["NEW"]}}
                },
            }
        )
    return {
        "bucket_level_trigger": {
            "id": trigger_id(detection),
            "name": detection.title,
            "severity": ALERTING_SEVERITY[detection.severity],
            "condition": {
                "parent_bucket_path": "entities",
                "buckets_path": {"measure": measure},
                "script": {"source": f"params.measure >= {minimum}", "lang": "painless"},
            },
            "actions": actions,
        }
    }


def receiver_payload(detection: Detection, fields: tuple[str, ...], lag: timedelta) -> str:
    """The JSON a new alert posts to the alert receiver. Alerting renders an alert's bucket keys
    joined by commas; its mustache escapes what it renders for JSON."""
    minutes = int(lag.total_seconds() // 60)
    return (
        "{"
        '"monitor": "{{ctx.monitor.name}}", '
        f'"detection_id": "{detection.id}", '
        f'"detection_version": {detection.version}, '
        f'"entity_fields": {json.dumps(list(fields))}, '
        '"bucket_keys": "{{ctx.newAlerts.0.bucket_keys}}", '
        '"period_end": "{{ctx.periodEnd}}", '
        f'"lag_minutes": {minutes}'
        "}"
    )
