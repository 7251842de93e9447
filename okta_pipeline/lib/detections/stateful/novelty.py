"""A successful sign-in from a country (or network) the user has not signed in from lately.

What a user "knows" is the values of their sign-ins over the `history_days` UTC days before the
sign-in's day, plus their earlier sign-ins that day. Users with too little history (new hires,
rare users) are skipped: everything would be new for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import Match
from okta_pipeline.lib.detections.search import EventSearch, Hit
from okta_pipeline.lib.detections.stateful.sign_ins import (
    IS_PROXY,
    SIGN_INS,
    USER,
    DailyHistory,
    day_start,
    earlier_same_day,
    is_proxy,
    users_of,
)
from okta_pipeline.lib.windows import window_start


def sign_in_novelty(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    field = str(parameters["field"])
    history_days = int(parameters.get("history_days", 30))
    min_known_days = int(parameters.get("min_known_days", 3))

    in_range = [h for h in search.scan(SIGN_INS, start, end, fields=[USER, field, IS_PROXY])]
    users = users_of(in_range)
    if not users:
        return []
    history = DailyHistory.read(
        search, field, users, day_start(start) - timedelta(days=history_days), end
    )
    today: dict[str, list[Hit]] = defaultdict(list)
    for user, hits in earlier_same_day(search, users, start, [field]).items():
        today[user].extend(hits)

    matches = []
    for hit in in_range:
        user, value = str(hit.get(USER)), hit.get(field)
        day = hit.published.date()
        same_day = [h for h in today[user] if h.published.date() == day]
        today[user].append(hit)
        if value is None or is_proxy(hit):
            continue
        if history.known_days(user, day, history_days) < min_known_days:
            continue
        known = history.values(user, day, history_days) | {
            str(h.get(field)) for h in same_day if h.get(field) is not None
        }
        if str(value) in known:
            continue
        matches.append(
            Match(
                window=window_start(hit.published),
                entity={USER: user},
                events=(hit.evidence,),
                details={"new": str(value), "known": sorted(known)},
            )
        )
    return matches
