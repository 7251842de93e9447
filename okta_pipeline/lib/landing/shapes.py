"""What identifies a source's records and places them in time: the landing, the loader and
the checks key on it, so Okta events and CloudTrail records go through the same code."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class RecordShape:
    noun: str
    """What one record is called in messages ("event", "record")."""
    id_field: str
    """The source's own unique id: the document id, and the key of the landing's union."""
    time_field: str
    """The time that places a record in exactly one window (and its index in one day)."""
    type_field: str
    """What happened; a record without it is indexed but counted as lacking a field."""

    def record_id(self, record: Record) -> str | None:
        value = record.get(self.id_field)
        return value if isinstance(value, str) and value.strip() else None

    def record_time(self, record: Record) -> datetime | None:
        """The record's time as an aware UTC datetime, or None when missing or malformed."""
        value = record.get(self.time_field)
        if not isinstance(value, str):
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else None

    def key(self, record: Record) -> str:
        """The dedup key: the record's id, or a content hash for a record that lacks one."""
        return (
            self.record_id(record)
            or "sha256:" + hashlib.sha256(serialize(record).encode()).hexdigest()
        )


def serialize(record: Record) -> str:
    """The landed JSON form of a record: compact, UTF-8, keys in their original order."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


OKTA_EVENT = RecordShape(
    noun="event", id_field="uuid", time_field="published", type_field="eventType"
)
CLOUDTRAIL_RECORD = RecordShape(
    noun="record", id_field="eventID", time_field="eventTime", type_field="eventName"
)
