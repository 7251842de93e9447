"""Which windows of a load run have changed since they were last loaded.

Every re-fetch (the hourly lookback, the daily re-fetch) re-materializes its windows, and the
load follows. A window whose landed file is the one it last loaded cleanly, and whose documents
are all still in the index, is not sent again: no flood of 409s, and a window's permanent dead
letters are not counted (and warned about) once more on every re-fetch.

Each window's materialization of the load records the landed file's version it loaded (Dagster
keeps one data version per run, not per partition, so the version rides in the partition's own
metadata); the next run reads those records back from the instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from okta_pipeline.defs.window_results import latest_materializations

LANDED_VERSION = "landed_version"
RAW_EVENTS = "window_raw_events"
DOCUMENTS = "dagster/partition_row_count"
DEAD_LETTERED = "window_dead_lettered"
FAILED = "window_failed"
FIELD_PROBLEMS = "window_events_missing_fields"


@dataclass(frozen=True)
class WindowLoadRecord:
    """What the last materialization of one window recorded."""

    landed_version: str
    raw_events: int
    documents: int
    dead_lettered: int
    failed: int
    field_problems: int

    @property
    def clean(self) -> bool:
        """Nothing refused by the cluster, and documents plus dead letters match the file."""
        return self.failed == 0 and self.documents + self.dead_lettered == self.raw_events

    def metadata(self) -> dict[str, Any]:
        return {
            LANDED_VERSION: self.landed_version,
            RAW_EVENTS: self.raw_events,
            DOCUMENTS: self.documents,
            DEAD_LETTERED: self.dead_lettered,
            FAILED: self.failed,
            FIELD_PROBLEMS: self.field_problems,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> WindowLoadRecord | None:
        values = {key: getattr(value, "value", value) for key, value in metadata.items()}
        try:
            return cls(
                landed_version=str(values[LANDED_VERSION]),
                raw_events=int(values[RAW_EVENTS]),
                documents=int(values[DOCUMENTS]),
                dead_lettered=int(values[DEAD_LETTERED]),
                failed=int(values[FAILED]),
                field_problems=int(values[FIELD_PROBLEMS]),
            )
        except (KeyError, TypeError, ValueError):
            return None  # recorded before versions were kept: load the window again


def last_loads(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Iterable[str]
) -> dict[str, WindowLoadRecord]:
    """The latest recorded load of each of `partitions` that has one."""
    loads: dict[str, WindowLoadRecord] = {}
    for partition, record in latest_materializations(instance, asset_key, partitions).items():
        materialization = record.asset_materialization
        parsed = materialization and WindowLoadRecord.from_metadata(materialization.metadata)
        if parsed:
            loads[partition] = parsed
    return loads


def unchanged_since_last_load(
    previous: WindowLoadRecord | None, landed_version: str, documents_now: int
) -> bool:
    """True when loading the window again would change nothing."""
    return (
        previous is not None
        and previous.clean
        and previous.landed_version == landed_version
        and previous.documents == documents_now
    )
