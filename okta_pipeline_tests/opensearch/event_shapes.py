"""A corpus of the shapes Okta events take in the wild, built on one realistic event.

Exports, Log Streaming, recorded corpora and older tenants differ from the API: fields arrive as
objects or as text, numbers and booleans as strings, containers as null or as empty strings.
Each variant is one event whose uuid names the shape.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from okta_pipeline.lib.landing import Event

BEHAVIORS_TEXT = "{New Geo-Location=NEGATIVE, New IP=POSITIVE}"
BEHAVIORS_OBJECT = {"New Geo-Location": "NEGATIVE", "New IP": "POSITIVE"}
RISK_TEXT = "{reasons=Anomalous Location, Anomalous Device, level=HIGH}"
RISK_OBJECT = {"level": "HIGH", "reasons": "Anomalous Location, Anomalous Device"}


def _debug_data(**values: Any) -> dict[str, Any]:
    return {"debugContext": {"debugData": {"requestId": "req-1", **values}}}


VARIANTS: dict[str, dict[str, Any]] = {
    "debug-data-empty-string": {"debugContext": {"debugData": ""}},
    "debug-data-json-text": {
        "debugContext": {
            "debugData": json.dumps(
                {"requestUri": "/api/v1/authn", "behaviors": BEHAVIORS_TEXT, "risk": RISK_OBJECT}
            )
        }
    },
    "debug-data-array": {"debugContext": {"debugData": [1, "two", {"three": 3}]}},
    "debug-data-null": {"debugContext": {"debugData": None}},
    "debug-context-null": {"debugContext": None},
    "behaviors-text": _debug_data(behaviors=BEHAVIORS_TEXT),
    "behaviors-object": _debug_data(behaviors=BEHAVIORS_OBJECT),
    "risk-text": _debug_data(risk=RISK_TEXT),
    "risk-object": _debug_data(risk=RISK_OBJECT),
    "log-only-security-data": _debug_data(
        logOnlySecurityData=json.dumps({"risk": RISK_OBJECT, "behaviors": BEHAVIORS_OBJECT})
    ),
    "threat-suspected-text": _debug_data(threatSuspected="true"),
    "threat-suspected-boolean": _debug_data(threatSuspected=True),
    "debug-data-nested-and-dotted": _debug_data(
        url={"path": "/app/sso", "query": "a=b"},
        requestUri=12345,
        **{"url.path": "/dotted", ".leading": "dot", "trailing.": "dot"},
    ),
    "numbers-as-text": {
        "securityContext": {"asNumber": "15169", "asOrg": "google", "isProxy": False},
        "authenticationContext": {"authenticationStep": "0", "externalSessionId": "x1"},
    },
    "numbers-where-text-is-expected": {
        "actor": {"id": 12345, "type": "User", "alternateId": 678, "displayName": 9.5},
        "client": {"device": 3, "zone": 0, "ipAddress": "203.0.113.9"},
    },
    "client-zone-and-ip-null-text": {"client": {"zone": "null", "ipAddress": "null"}},
    "target-null": {"target": None},
    "security-context-null": {"securityContext": None},
    "is-proxy-null-text": {"securityContext": {"isProxy": "null"}},
    "is-proxy-true-text": {"securityContext": {"isProxy": "true"}},
    "ip-chain-without-geo": {
        "request": {
            "ipChain": [
                {"ip": "10.0.0.1", "version": "V4", "source": None},
                {"ip": "10.0.0.2", "geographicalContext": None},
                {"ip": "null"},
            ]
        }
    },
    "detail-entry-text": {
        "actor": {"id": "00u1", "type": "User", "detailEntry": "text"},
        "target": [{"id": "t1", "type": "AppInstance", "detailEntry": "text"}],
    },
    "transaction-detail-text": {"transaction": {"type": "WEB", "id": "tx", "detail": ""}},
    "transaction-detail-token": {
        "transaction": {"type": "WEB", "id": "tx", "detail": {"requestApiTokenId": "00T9"}}
    },
    "geolocation-partial": {
        "client": {"geographicalContext": {"geolocation": {"lat": None, "lon": 2.35}}}
    },
    "two-thousand-keys": {
        **{f"extra{number}": number for number in range(2000)},
        "debugContext": {"debugData": {f"key{n}": f"value {n}" for n in range(2000)}},
    },
    "unicode-keys": {
        "ключ": "значение",
        "キー": {"値": 1},
        "🙂": True,
        "debugContext": {"debugData": {"clé": "valeur", "鍵": "値", "requestUri": "/é"}},
    },
}


def shape_corpus(base: Event) -> list[Event]:
    """One event per variant: `base` with the variant's fields replacing its own."""
    events = []
    for name, fields in VARIANTS.items():
        event = copy.deepcopy(base)
        event.update(copy.deepcopy(fields))
        event["uuid"] = f"shape-{name}"
        events.append(event)
    return events


def not_events(base: Event) -> list[str]:
    """Landed lines that cannot be events: each is dead-lettered, with its reason."""
    no_uuid = {key: value for key, value in base.items() if key != "uuid"}
    bad_date = {**base, "uuid": "shape-bad-published", "published": "yesterday-ish"}
    return [
        '{"uuid": "shape-truncated", "published": "2026-11',
        json.dumps([base["uuid"], "an array, not an event"]),
        json.dumps(no_uuid),
        json.dumps(bad_date),
    ]


NOT_EVENT_REASONS = {
    "not JSON": 1,
    "not a JSON object": 1,
    "missing uuid": 1,
    "unparseable published": 1,
}
