"""An actor granting a privilege to itself: an admin role, or membership of an admin group."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from okta_pipeline.lib.detections.model import Match
from okta_pipeline.lib.detections.search import EventSearch, terms
from okta_pipeline.lib.detections.stateful.sign_ins import USER
from okta_pipeline.lib.windows import window_start

FIELDS = (USER, "actor.id", "target.id", "target.alternateId", "target.type", "target.displayName")


def privilege_self_grant(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    """Lucene cannot compare two fields of one event, so the comparison happens here."""
    event_types = [str(t) for t in parameters.get("event_types", ["user.account.privilege.grant"])]
    matches = []
    for hit in search.scan(terms("eventType", event_types), start, end, fields=FIELDS):
        actor_ids = {hit.get("actor.id"), hit.get(USER)} - {None}
        target_ids = _as_set(hit.get("target.id")) | _as_set(hit.get("target.alternateId"))
        if not actor_ids & target_ids:
            continue
        matches.append(
            Match(
                window=window_start(hit.published),
                entity={USER: str(hit.get(USER))},
                events=(hit.evidence,),
                details={"granted": sorted(_as_set(hit.get("target.displayName")))},
            )
        )
    return matches


def _as_set(value: Any) -> set[Any]:
    if value is None:
        return set()
    return set(value) if isinstance(value, list) else {value}
