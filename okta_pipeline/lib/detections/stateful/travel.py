"""Impossible travel: two consecutive successful sign-ins of one user too far apart for the time
between them, by great-circle distance over Okta's own geolocation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from okta_pipeline.lib.detections.model import EvidenceEvent, Match
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


def great_circle_km(
    lat1: np.ndarray[Any, Any] | float,
    lon1: np.ndarray[Any, Any] | float,
    lat2: np.ndarray[Any, Any] | float,
    lon2: np.ndarray[Any, Any] | float,
) -> Any:
    """Haversine distance between (lat, lon) points in degrees, element-wise over arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def sign_in_frame(hits: list[Hit], mobile_words: list[str]) -> pd.DataFrame:
    """One row per sign-in, with where it came from and whether its location can be trusted."""
    rows = []
    for hit in hits:
        geo = hit.get(GEO) if isinstance(hit.get(GEO), dict) else {}
        rows.append(
            {
                "user": str(hit.get(USER)),
                "published": hit.published,
                "uuid": hit.uuid,
                "lat": geo.get("lat"),
                "lon": geo.get("lon"),
                "place": f"{hit.get(CITY)}, {hit.get(COUNTRY)}",
                # Proxies and mobile carriers say little about where the person is.
                "vague": is_proxy(hit) or on_mobile_network(hit, mobile_words),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["user", "published", "uuid", "lat", "lon", "place", "vague"]
    )
    frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
    frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce")
    return frame


def impossible_travel(
    search: EventSearch, start: datetime, end: datetime, parameters: Mapping[str, Any]
) -> list[Match]:
    lookback = timedelta(hours=float(parameters.get("lookback_hours", 24)))
    min_km = float(parameters.get("min_distance_km", 500))
    max_kmh = float(parameters.get("max_speed_kmh", 1000))
    mobile_words = [str(w).lower() for w in parameters.get("mobile_network_words", [])]

    in_range = list(search.scan(SIGN_INS, start, end, fields=FIELDS))
    previous = _last_sign_in_before(search, users_of(in_range), start, lookback)
    frame = sign_in_frame([*previous.values(), *in_range], mobile_words)
    if frame.empty:
        return []
    # Each sign-in beside the same user's previous one.
    frame = frame.sort_values(["user", "published", "uuid"], ignore_index=True)
    before = frame.groupby("user").shift(1).add_suffix("_before")
    pairs = pd.concat([frame, before], axis=1).dropna(subset=["published_before"])
    pairs = pairs[
        (pairs["published"] >= start)
        & (pairs["published"] - pairs["published_before"] <= lookback)
        & ~pairs["vague"].astype(bool)
        & ~pairs["vague_before"].astype(bool)
    ].dropna(subset=["lat", "lon", "lat_before", "lon_before"])
    km = great_circle_km(pairs["lat_before"], pairs["lon_before"], pairs["lat"], pairs["lon"])
    # Two sign-ins in the same minute are timed as a minute apart: no division by zero, and a
    # pair seconds apart on two continents is still far above any airliner.
    seconds = (pairs["published"] - pairs["published_before"]).dt.total_seconds()
    kmh = km / (seconds.clip(lower=60.0) / 3600)
    impossible = pairs.assign(km=km, kmh=kmh)[(km >= min_km) & (kmh > max_kmh)]
    return [
        Match(
            window=window_start(row.published),
            entity={USER: row.user},
            events=(
                EvidenceEvent(row.uuid_before, row.published_before.to_pydatetime()),
                EvidenceEvent(row.uuid, row.published.to_pydatetime()),
            ),
            details={
                "distance_km": round(row.km),
                "speed_kmh": round(row.kmh),
                "from": row.place_before,
                "to": row.place,
            },
        )
        for row in impossible.itertuples()
    ]


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
