"""Keep a cluster's Alerting monitors equal to the catalog, without drift.

A monitor is this project's when its search carries the marker, and this deployment's
when the marker names the same owner: nothing else is ever changed or deleted. A monitor whose
stored spec hash equals the desired one is left alone; others are updated in place under
optimistic concurrency (`if_seq_no`, `if_primary_term`), keeping their trigger and action ids,
so their active alerts stay active.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.lib.monitors.compile import marker_of
from okta_pipeline.lib.opensearch.index_setup import has_plugin

MONITORS = "/_plugins/_alerting/monitors"
ALERTING_PLUGIN = "opensearch-alerting"
SEARCH_SIZE = 1000


class MonitorSyncError(RuntimeError):
    """The cluster refused a monitor; the message names the detection and what it said."""


@dataclass(frozen=True)
class StoredMonitor:
    id: str
    detection_id: str
    seq_no: int
    primary_term: int
    body: dict[str, Any]


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": len(self.unchanged),
            "total": len(self.created) + len(self.updated) + len(self.unchanged),
        }


def has_alerting(client: OpenSearch) -> bool:
    return has_plugin(client, ALERTING_PLUGIN)


def drift(stored: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """How a stored monitor differs from the desired one: another spec hash (the catalog or the
    options changed), or the parts an analyst edits in Dashboards changed by hand."""
    if marker_of(stored).get("spec_hash") != marker_of(desired)["spec_hash"]:
        return ["out of date"]
    return [
        f"{part} edited by hand"
        for part, read in HAND_EDITABLE.items()
        if _read(read, stored) != _read(read, desired)
    ]


def _trigger(monitor: dict[str, Any]) -> dict[str, Any]:
    triggers = monitor.get("triggers") or [{}]
    return dict(triggers[0].get("bucket_level_trigger") or {})


HAND_EDITABLE: dict[str, Any] = {
    "enabled": lambda m: m.get("enabled"),
    "schedule": lambda m: m.get("schedule"),
    "indices": lambda m: m["inputs"][0]["search"]["indices"],
    "trigger": lambda m: (
        _trigger(m).get("id"),
        _trigger(m).get("severity"),
        _trigger(m).get("condition", {}).get("script", {}).get("source"),
    ),
    "actions": lambda m: sorted(a.get("id", "") for a in _trigger(m).get("actions") or []),
}


def _read(read: Any, monitor: dict[str, Any]) -> Any:
    try:
        return read(monitor)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


class MonitorSync:
    """The monitors of one owner on one cluster."""

    def __init__(self, client: OpenSearch, owner: str) -> None:
        self.client = client
        self.owner = owner

    def stored(self) -> dict[str, StoredMonitor]:
        """This owner's monitors, by detection id."""
        return self._scan()[0]

    def _scan(self) -> tuple[dict[str, StoredMonitor], list[StoredMonitor]]:
        """This owner's monitors by detection id, and any second monitor of one detection
        (left by an interrupted sync)."""
        found: dict[str, StoredMonitor] = {}
        duplicates: list[StoredMonitor] = []
        for hit in self._every_monitor():
            body = hit["_source"].get("monitor", hit["_source"])
            marker = marker_of(body)
            if marker.get("owner") != self.owner or not marker.get("detection_id"):
                continue
            monitor = StoredMonitor(
                id=hit["_id"],
                detection_id=str(marker["detection_id"]),
                seq_no=int(hit["_seq_no"]),
                primary_term=int(hit["_primary_term"]),
                body=body,
            )
            if monitor.detection_id in found:
                duplicates.append(monitor)
            else:
                found[monitor.detection_id] = monitor
        return found, duplicates

    def _every_monitor(self) -> Iterator[dict[str, Any]]:
        """Every monitor on the cluster, whoever owns it, a page of `SEARCH_SIZE` at a time.

        The owner cannot be matched on the node: Alerting stores a monitor's search unindexed
        (`enabled: false`), so the marker is read here. Pages follow each other by `_id`, which
        is unique and never changes, so a monitor edited meanwhile is neither missed nor read
        twice."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": SEARCH_SIZE,
                "seq_no_primary_term": True,
                "sort": [{"_id": "asc"}],
                "query": {"bool": {"filter": [{"term": {"monitor.type": "monitor"}}]}},
            }
            if after is not None:
                body["search_after"] = after
            try:
                response = self.client.transport.perform_request(
                    "POST", f"{MONITORS}/_search", body=body
                )
            except os_errors.NotFoundError:
                # Alerting creates its config index with the first monitor: a cluster that
                # never had one answers the search with 404 (index not found), so none stored.
                return
            hits = response["hits"]["hits"]
            yield from hits
            if len(hits) < SEARCH_SIZE:
                return
            after = hits[-1]["sort"]

    def sync(self, desired: Iterable[dict[str, Any]]) -> SyncReport:
        """Create, update and delete so that this owner's monitors are exactly `desired`."""
        report = SyncReport()
        stored, duplicates = self._scan()
        for duplicate in duplicates:
            self._delete(duplicate.id)
        wanted = {marker_of(body)["detection_id"]: body for body in desired}
        for detection_id, body in sorted(wanted.items()):
            current = stored.get(detection_id)
            if current is None:
                self._create(detection_id, body)
                report.created.append(detection_id)
            elif drift(current.body, body):
                self._update(current, body)
                report.updated.append(detection_id)
            else:
                report.unchanged.append(detection_id)
        for detection_id, current in sorted(stored.items()):
            if detection_id not in wanted:
                self._delete(current.id)
                report.deleted.append(detection_id)
        return report

    def differences(self, desired: Iterable[dict[str, Any]]) -> dict[str, str]:
        """Detection id -> how the cluster differs from `desired` (empty when equal)."""
        stored, duplicates = self._scan()
        wanted = {marker_of(body)["detection_id"]: body for body in desired}
        found: dict[str, str] = {}
        for detection_id, body in wanted.items():
            current = stored.get(detection_id)
            if current is None:
                found[detection_id] = "missing"
            elif reasons := drift(current.body, body):
                found[detection_id] = ", ".join(reasons)
        for detection_id in stored.keys() - wanted.keys():
            found[detection_id] = "not in the catalog"
        for duplicate in duplicates:
            found.setdefault(duplicate.detection_id, "more than one monitor")
        return found

    def _create(self, detection_id: str, body: dict[str, Any]) -> None:
        try:
            self.client.transport.perform_request(
                "POST", MONITORS, body=body, params={"refresh": "true"}
            )
        except os_errors.TransportError as error:
            raise _refused(detection_id, error) from None

    def _update(self, current: StoredMonitor, body: dict[str, Any]) -> None:
        try:
            self.client.transport.perform_request(
                "PUT",
                f"{MONITORS}/{current.id}",
                body=body,
                params={
                    "if_seq_no": current.seq_no,
                    "if_primary_term": current.primary_term,
                    "refresh": "true",
                },
            )
        except os_errors.ConflictError:
            raise MonitorSyncError(
                f"monitor {current.id} ({current.detection_id}) changed while it was being "
                "updated (someone edited it, or another sync ran); run the sync again"
            ) from None
        except os_errors.TransportError as error:
            raise _refused(current.detection_id, error) from None

    def _delete(self, monitor_id: str) -> None:
        self.client.transport.perform_request(
            "DELETE", f"{MONITORS}/{monitor_id}", params={"refresh": "true", "ignore": 404}
        )


def _refused(detection_id: str, error: os_errors.TransportError) -> MonitorSyncError:
    return MonitorSyncError(
        f"the cluster refused the monitor of {detection_id} ({error.status_code}): "
        f"{error.info if error.info else error.error}. The monitors synced before it were "
        "written and the rest were left as they were: fix the detection or the monitor "
        "settings, then sync again"
    )
