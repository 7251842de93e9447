"""Impossible travel: two consecutive successful sign-ins of one user too far apart for the time
between them, by great-circle distance over Okta's own geolocation."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import Match
from okta_pipeline.lib.detections.search import EventSearch, Hit, get_path, parse_time, terms
from okta_pipeline.lib.detections.stateful.sign_ins import (
    AS_ORG,
    COUNTRY,
    IS_PROXY,
    ISP,
    SIGN_INS,
    USER,
    in_batches,
    is_proxy,
    on_mobile_network,
    users_of,
)
from okta_pipeline.lib.windows import window_start

GEO = "client.geographicalContext.geolocation"
CITY = "client.geographicalContext.city"
FIELDS = (USER, GEO, COUNTRY, CITY, IS_PROXY, ISP, AS_ORG, "client.ipAddress")
EARTH_RADIUS_KM = 6371.0


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def location(hit: Hit) -> tuple[float, float] | None:
    geo = hit.get(GEO)
    if not isinstance(geo, dict):
        return None
    lat, lon = geo.get("lat"), geo.get("lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    return float(lat), float(lon)


def impossible_travel(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    lookback = timedelta(hours=float(parameters.get("lookback_hours", 24)))
    min_km = float(parameters.get("min_distance_km", 500))
    max_kmh = float(parameters.get("max_speed_kmh", 1000))
    mobile_words = [str(w).lower() for w in parameters.get("mobile_network_words", [])]

    in_range = list(search.scan(SIGN_INS, start, end, fields=FIELDS))
    by_user: dict[str, list[Hit]] = defaultdict(list)
    for hit in in_range:
        by_user[str(hit.get(USER))].append(hit)
    for user, previous in _last_sign_in_before(search, users_of(in_range), start, lookback).items():
        by_user[user].insert(0, previous)

    matches = []
    for user, sign_ins in by_user.items():
        for before, after in itertools.pairwise(sign_ins):
            if after.published < start or after.published - before.published > lookback:
                continue
            if any(is_proxy(h) or on_mobile_network(h, mobile_words) for h in (before, after)):
                continue
            here, there = location(before), location(after)
            if here is None or there is None:
                continue
            km = great_circle_km(here, there)
            # Two sign-ins in the same minute are timed as a minute apart: no division by zero,
            # and a pair seconds apart on two continents is still far above any airliner.
            hours = max((after.published - before.published).total_seconds(), 60.0) / 3600
            if km < min_km or km / hours <= max_kmh:
                continue
            matches.append(
                Match(
                    window=window_start(after.published),
                    entity={USER: user},
                    events=(before.evidence, after.evidence),
                    details={
                        "distance_km": round(km),
                        "speed_kmh": round(km / hours),
                        "from": f"{before.get(CITY)}, {before.get(COUNTRY)}",
                        "to": f"{after.get(CITY)}, {after.get(COUNTRY)}",
                    },
                )
            )
    return matches


def _last_sign_in_before(
    search: EventSearch, users: list[str], start: datetime, lookback: timedelta
) -> dict[str, Hit]:
    """Each user's latest successful sign-in in [start - lookback, start)."""
    latest: dict[str, Hit] = {}
    for batch in in_batches(users):
        buckets = search.composite(
            {"bool": {"filter": [SIGN_INS, terms(USER, batch)]}},
            start - lookback,
            start,
            sources=[{"user": {"terms": {"field": USER}}}],
            aggregations={
                "latest": {
                    "top_hits": {
                        "size": 1,
                        "sort": [{"published": "desc"}, {"uuid": "desc"}],
                        "_source": ["uuid", "published", *FIELDS],
                    }
                }
            },
        )
        for bucket in buckets:
            (hit,) = bucket["latest"]["hits"]["hits"]
            source = hit["_source"]
            values = {f: get_path(source, f) for f in FIELDS}
            latest[str(bucket["key"]["user"])] = Hit(
                str(source["uuid"]), parse_time(source["published"]), values
            )
    return latest
