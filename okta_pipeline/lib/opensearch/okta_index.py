"""The `okta-logs-*` indices: names by `published` date, and the index template's mapping.

Mapping choices (each keeps every event loadable and `_source` exactly as Okta sent it):
- `dynamic: false` everywhere: a field Okta adds tomorrow stays in `_source` and never fails a
  load or grows the mapping.
- IP fields are `ip` with `ignore_malformed`: Okta writes the string "null" in some of them; such
  a value is left unindexed for that field (the event itself loads and keeps it in `_source`).
- `geolocation` is a `geo_point` with `ignore_malformed` for the same reason (nulls, partial).
- `debugContext.debugData` is an object with `dynamic: false` and its well-known keys as
  keywords capped by `ignore_above`. OpenSearch 2.19's `flat_object` would index every key, but
  it cannot skip long values (no `ignore_above`), so one value over 32 KB would reject the whole
  event; here long values are simply not indexed and unknown keys stay in `_source`.
- Keywords carry `ignore_above`, so megabyte-long strings never hit Lucene's term limit.

Dotted keys (`"a.b.c"`) load. OpenSearch itself refuses two rare shapes: a key that starts
with a dot, and a dotted key that runs into a mapped leaf (`"url.path"` under `debugData`, where
`url` is a keyword). Such an event is dead-lettered with OpenSearch's reason and stays in the
landing zone; the rest of its window loads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

TEMPLATE_NAME = "okta-logs"

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": 8191}
_IP = {"type": "ip", "ignore_malformed": True}
_TEXT_AND_KEYWORD = {"type": "text", "fields": {"keyword": _KEYWORD}}


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "dynamic": False, "properties": properties}


def _keywords(*names: str) -> dict[str, Any]:
    return {name: _KEYWORD for name in names}


_GEO_CONTEXT = _object(
    **_keywords("city", "state", "country", "postalCode"),
    geolocation={"type": "geo_point", "ignore_malformed": True},
)
_ACTOR = _object(
    **_keywords("id", "type", "alternateId", "displayName"),
    detailEntry=_object(),
)
DEBUG_DATA_KEYS = (
    "requestId",
    "requestUri",
    "url",
    "dtHash",
    "threatSuspected",
    "threatDetections",
    "factor",
    "factorIntent",
    "privilegeGranted",
    "behaviors",
    "risk",
    "deviceFingerprint",
    "authnRequestId",
    "clientAddress",
    "redirectUri",
    "tunnels",
    "pushWithNumberChallenge",
)

OKTA_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "uuid": _KEYWORD,
        "published": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
        "eventType": _KEYWORD,
        "legacyEventType": _KEYWORD,
        "version": _KEYWORD,
        "severity": _KEYWORD,
        "displayMessage": _TEXT_AND_KEYWORD,
        "actor": _ACTOR,
        "client": _object(
            userAgent=_object(rawUserAgent=_LONG_KEYWORD, os=_KEYWORD, browser=_KEYWORD),
            **_keywords("zone", "device", "id"),
            ipAddress=_IP,
            geographicalContext=_GEO_CONTEXT,
        ),
        "device": _object(**_keywords("id", "name", "os_platform", "os_version")),
        "authenticationContext": _object(
            **_keywords(
                "authenticationProvider",
                "credentialProvider",
                "credentialType",
                "externalSessionId",
                "rootSessionId",
                "interface",
            ),
            authenticationStep={"type": "integer", "ignore_malformed": True},
            issuer=_object(**_keywords("id", "type")),
        ),
        "securityContext": _object(
            asNumber={"type": "long", "ignore_malformed": True},
            **_keywords("asOrg", "isp", "domain"),
            isProxy={"type": "boolean"},
        ),
        "outcome": _object(result=_KEYWORD, reason=_TEXT_AND_KEYWORD),
        "target": _object(
            **_keywords("id", "type", "alternateId", "displayName"),
            detailEntry=_object(),
        ),
        "transaction": _object(
            **_keywords("type", "id"), detail=_object(requestApiTokenId=_KEYWORD)
        ),
        "debugContext": _object(
            debugData=_object(**{key: _LONG_KEYWORD for key in DEBUG_DATA_KEYS})
        ),
        "request": _object(
            ipChain=_object(
                ip=_IP, **_keywords("version", "source"), geographicalContext=_GEO_CONTEXT
            )
        ),
    },
}


def daily_indices(prefix: str) -> str:
    """A pattern matching only this prefix's daily indices (not `okta-logs-dev-*` beside it)."""
    return f"{prefix}-2*"


def index_name(prefix: str, published: datetime) -> str:
    """The daily index an event belongs to, from its own `published` date (UTC)."""
    return f"{prefix}-{published:%Y.%m.%d}"


def index_template(prefix: str, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    return {
        "index_patterns": [f"{prefix}-*"],
        "priority": 100,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "mapping.total_fields.limit": 1000,
            },
            "mappings": OKTA_MAPPING,
        },
        "_meta": {"managed_by": "okta_pipeline", "description": "Okta System Log events"},
    }


def count_mapped_fields(mapping: dict[str, Any]) -> int:
    """Leaf fields in a mapping (sub-fields included): what total_fields.limit counts."""
    total = 0
    for spec in mapping.get("properties", {}).values():
        total += 1 + count_mapped_fields(spec) + len(spec.get("fields", {}))
    return total
