"""The `okta-logs-*` indices: names by `published` date, and the index template's mapping.

Mapping choices (each keeps every event loadable and `_source` exactly as Okta sent it):
- `dynamic: false` everywhere: a field Okta adds tomorrow stays in `_source` and never fails a
  load or grows the mapping.
- Fields whose type varies in the wild are mapped so that any value is accepted: scalars that
  arrive as strings, numbers or booleans are keywords (`securityContext.isProxy` included);
  numbers and dates carry `ignore_malformed`; subtrees that arrive as objects, as text or as
  empty strings (`debugContext.debugData`, `detailEntry`, `transaction.detail`) are not
  indexed in place (`enabled: false`). Their typed view is the `okta_pipeline` namespace
  (`derived_fields`), indexed but left out of `_source`.
- IP fields are `ip` and `geolocation` a `geo_point`, with `ignore_malformed`: Okta writes the
  string "null" in some IP fields; such a value is left unindexed for that field.
- Keywords carry `ignore_above`, so megabyte-long strings never hit Lucene's term limit.

Dotted keys (`"a.b.c"`) load, except one that starts with a dot, which OpenSearch itself refuses
outside a disabled subtree.

MAPPING_VERSION goes up whenever a change needs new indices; the template applies to daily
indices created from then on, and older ones keep their mapping until they age out or are
reloaded (see the README).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from okta_pipeline.lib.opensearch.derived_fields import DEBUG_DATA_KEYS, NAMESPACE

TEMPLATE_NAME = "okta-logs"
MAPPING_VERSION = 3

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": 8191}
_IP = {"type": "ip", "ignore_malformed": True}
_TEXT_AND_KEYWORD = {"type": "text", "fields": {"keyword": _KEYWORD}}
# Kept in _source, not indexed: accepts an object, a string, a number, an array or null.
_ANY_SHAPE = {"type": "object", "enabled": False}


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
    detailEntry=_ANY_SHAPE,
)
DERIVED = _object(
    debug_data=_object(**{key: _LONG_KEYWORD for key in DEBUG_DATA_KEYS}),
    behaviors=_KEYWORD,
    positive_behaviors=_KEYWORD,
    risk_level=_KEYWORD,
    risk_reasons=_LONG_KEYWORD,
    threat_suspected={"type": "boolean"},
    is_proxy={"type": "boolean"},
    api_token_id=_KEYWORD,
    ip_service_categories=_KEYWORD,
    anonymous_tunnel={"type": "boolean"},
    tunnel_types=_KEYWORD,
    tunnel_operators=_KEYWORD,
    granted_scopes=_KEYWORD,
    admin_scopes=_KEYWORD,
    policy_weakened=_KEYWORD,
    threat_insight_action=_KEYWORD,
)
OKTA_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "_meta": {"mapping_version": MAPPING_VERSION},
    # The derived view is searchable but not stored: _source is the event as Okta sent it.
    "_source": {"excludes": [NAMESPACE]},
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
            **_keywords("asOrg", "isp", "domain", "isProxy"),
        ),
        "outcome": _object(result=_KEYWORD, reason=_TEXT_AND_KEYWORD),
        "target": _object(
            **_keywords("id", "type", "alternateId", "displayName"),
            detailEntry=_ANY_SHAPE,
        ),
        "transaction": _object(**_keywords("type", "id"), detail=_ANY_SHAPE),
        "debugContext": _object(debugData=_ANY_SHAPE),
        "request": _object(
            ipChain=_object(
                ip=_IP, **_keywords("version", "source"), geographicalContext=_GEO_CONTEXT
            )
        ),
        NAMESPACE: DERIVED,
    },
}


def daily_indices(prefix: str) -> str:
    """A pattern matching only this prefix's daily indices (`okta-logs-2026.12.01`), not those
    of a prefix that extends it (`okta-logs-dev-*`): for searches, templates and clean-up."""
    return f"{prefix}-2*"


def index_name(prefix: str, published: datetime) -> str:
    """The daily index an event belongs to, from its own `published` date (UTC)."""
    return f"{prefix}-{published:%Y.%m.%d}"


def index_template(prefix: str, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    return daily_template(
        prefix, OKTA_MAPPING, "Okta System Log events", MAPPING_VERSION, shards, replicas
    )


def daily_template(
    prefix: str,
    mappings: dict[str, Any],
    description: str,
    mapping_version: int,
    shards: int = 1,
    replicas: int = 0,
) -> dict[str, Any]:
    """A composable template for one prefix's daily indices, marked as the project's."""
    return {
        # Only this prefix's dated indices: `okta-logs-dev` beside `okta-logs` would otherwise
        # match both templates at the same priority, which OpenSearch refuses.
        "index_patterns": [daily_indices(prefix)],
        "priority": 100,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "mapping.total_fields.limit": 1000,
            },
            "mappings": mappings,
        },
        "_meta": {
            "managed_by": "okta_pipeline",
            "description": description,
            "mapping_version": mapping_version,
        },
    }


def count_mapped_fields(mapping: dict[str, Any]) -> int:
    """Leaf fields in a mapping (sub-fields included): what total_fields.limit counts."""
    total = 0
    for spec in mapping.get("properties", {}).values():
        total += 1 + count_mapped_fields(spec) + len(spec.get("fields", {}))
    return total
