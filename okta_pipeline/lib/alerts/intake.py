"""Alerts from OpenSearch Alerting monitors, turned into the findings the pipeline would write.

An alert is stored only for the detection's own entity fields (a threshold's group-by fields,
otherwise its `entity`), and only for a window from `MAX_ALERT_AGE` before now to
`MAX_ALERT_LEAD` after it (a monitor alerts on the windows it just read): each day an alert names
is a findings index, so the sender must not choose them freely. Anything else is a 422.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.lib.alerts.delivery import Deliverer
from okta_pipeline.lib.alerts.messages import Alert
from okta_pipeline.lib.alerts.receiver import AlertRejectedError, MonitorAlert
from okta_pipeline.lib.detections.catalog import Catalog, UnknownDetectionError
from okta_pipeline.lib.detections.engine import evaluate
from okta_pipeline.lib.detections.findings import (
    Finding,
    ensure_findings_template,
    finding_id,
    findings_index,
)
from okta_pipeline.lib.detections.model import Detection, EvidenceEvent, ThresholdLogic
from okta_pipeline.lib.detections.search import parse_time
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import WINDOW

MAX_ALERT_AGE = timedelta(days=30)
"""The oldest window an alert may name, before now."""
MAX_ALERT_LEAD = timedelta(minutes=5)
"""How far after now an alert's window may start (clock skew)."""


def entity_fields(detection: Detection) -> tuple[str, ...]:
    """The fields of the detection's findings' entity: what its monitor buckets by."""
    if isinstance(detection.logic, ThresholdLogic):
        return detection.logic.group_by
    return detection.entity


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlertIntake:
    """Stores a monitor's alert as a finding (the pipeline's own, when it found it too) and
    delivers it through the ledger; `now` is the clock the alert's window is checked against."""

    def __init__(
        self,
        client: OpenSearch,
        catalog: Catalog,
        deliverer: Deliverer,
        logs_index: str,
        findings_prefix: str,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.deliverer = deliverer
        self.logs_index = logs_index
        self.findings_prefix = findings_prefix
        self.now = now

    def __call__(self, alert: MonitorAlert) -> dict[str, Any]:
        try:
            detection = self.catalog.get(alert.detection_id)
        except UnknownDetectionError:
            raise AlertRejectedError(
                422, f"no detection {alert.detection_id!r}: the monitor is not from this catalog"
            ) from None
        if alert.detection_version != detection.version:
            raise AlertRejectedError(
                409,
                f"the monitor runs version {alert.detection_version} of {detection.id}, the "
                f"catalog has version {detection.version}: sync the monitors",
            )
        self._check(detection, alert)
        wanted = finding_id(detection.id, detection.version, alert.entity, alert.window)
        document = self._stored(wanted)
        if document is None:
            document = self._store(self._finding(alert, wanted))
        report = self.deliverer.deliver([Alert(document)])
        return {"finding_id": wanted, **report.summary()}

    def _check(self, detection: Detection, alert: MonitorAlert) -> None:
        """A 422 unless the alert names the detection's entity fields and a window near now."""
        fields = entity_fields(detection)
        if sorted(alert.entity) != sorted(fields):
            raise AlertRejectedError(
                422,
                f"entity has the fields {sorted(alert.entity)}; {detection.id}'s entity fields "
                f"are {sorted(fields)}",
            )
        now = self.now()
        earliest, latest = now - MAX_ALERT_AGE, now + MAX_ALERT_LEAD
        if not earliest <= alert.window <= latest:
            raise AlertRejectedError(
                422,
                f"window_start/period_end gives the window {alert.window.isoformat()}; alerts "
                f"are accepted for windows from {MAX_ALERT_AGE.days} days before now to "
                f"{MAX_ALERT_LEAD.seconds // 60} minutes after it ({earliest.isoformat()} to "
                f"{latest.isoformat()})",
            )

    def _finding(self, alert: MonitorAlert, wanted: str) -> Finding:
        """The pipeline's own finding when its evaluation of the window agrees; otherwise the
        monitor's word, with the evidence it named."""
        detection = self.catalog.get(alert.detection_id)
        evaluation = evaluate(
            self.client, self.logs_index, [detection], alert.window, alert.window + WINDOW
        )
        for finding in evaluation.findings:
            if finding.id == wanted:
                return finding
        return Finding(
            detection=detection,
            window=alert.window,
            entity=alert.entity,
            evidence=self._events(alert.evidence),
            count=len(alert.evidence),
            details={"monitor": alert.monitor, "source": "OpenSearch Alerting"},
        )

    def _events(self, uuids: tuple[str, ...]) -> tuple[EvidenceEvent, ...]:
        if not uuids:
            return ()
        response = self.client.search(
            index=self.logs_index,
            body={
                "size": len(uuids),
                "query": {"terms": {"uuid": list(uuids)}},
                "_source": ["uuid", "published"],
            },
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )
        return tuple(
            EvidenceEvent(str(h["_source"]["uuid"]), parse_time(h["_source"]["published"]))
            for h in response["hits"]["hits"]
        )

    def _stored(self, wanted: str) -> dict[str, Any] | None:
        response = self.client.search(
            index=daily_indices(self.findings_prefix),
            body={"size": 1, "query": {"ids": {"values": [wanted]}}},
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )
        hits = response["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    def _store(self, finding: Finding) -> dict[str, Any]:
        ensure_findings_template(self.client, self.findings_prefix)
        document = finding.document(datetime.now(UTC), self.logs_index)
        # A conflict means the pipeline wrote it meanwhile: same id, same finding.
        with contextlib.suppress(os_errors.ConflictError):
            self.client.create(
                index=findings_index(self.findings_prefix, finding.window),
                id=finding.id,
                body=document,
                params={"refresh": "true"},
            )
        return document
