"""A typed view of the Okta fields whose type varies in the wild, under one namespace.

Okta writes some fields in more than one shape: `debugData` as an object, as JSON text or as
an empty string; `behaviors` and `risk` as objects or as Java's `{key=value, ...}` text (also
nested in `logOnlySecurityData`, itself JSON text); booleans as strings. The raw fields are
indexed as they come (or not at all, where no one mapping can take every shape); detections
query this view instead. It is indexed under `okta_pipeline` and left out of `_source`, so
`_source` stays exactly the event Okta sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

NAMESPACE = "okta_pipeline"
# debugData keys worth searching, each indexed as text whatever its type.
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
# "reasons=Anomalous Location, Anomalous Device, level=HIGH": a key starts the text or follows
# a comma, and runs to "=" without a comma of its own, so values may contain commas.
_JAVA_MAP_KEY = re.compile(r"(?:^|,\s*)([A-Za-z][\w .\-]*?)=")


def derive(event: Mapping[str, Any]) -> dict[str, Any]:
    """The `okta_pipeline` fields for one event (empty when it has nothing to derive)."""
    derived: dict[str, Any] = {}
    debug = as_mapping(_get(event, "debugContext", "debugData"))
    security = as_mapping(debug.get("logOnlySecurityData")) if debug else None
    if debug:
        texts = {k: t for k in DEBUG_DATA_KEYS if (t := as_text(debug.get(k))) is not None}
        if texts:
            derived["debug_data"] = texts
    behaviors = as_mapping(_first(debug, security, key="behaviors"))
    if behaviors:
        pairs = {name: as_text(value) or "" for name, value in behaviors.items()}
        derived["behaviors"] = [f"{name}={value}" for name, value in sorted(pairs.items())]
        derived["positive_behaviors"] = sorted(n for n, v in pairs.items() if v == "POSITIVE")
    risk = as_mapping(_first(debug, security, key="risk"))
    if risk:
        if (level := as_text(risk.get("level"))) is not None:
            derived["risk_level"] = level.upper()
        if (reasons := as_text(risk.get("reasons"))) is not None:
            derived["risk_reasons"] = reasons
    if debug and (threat := as_bool(debug.get("threatSuspected"))) is not None:
        derived["threat_suspected"] = threat
    if (proxy := as_bool(_get(event, "securityContext", "isProxy"))) is not None:
        derived["is_proxy"] = proxy
    if (token := as_text(_get(event, "transaction", "detail", "requestApiTokenId"))) is not None:
        derived["api_token_id"] = token
    return derived


def as_mapping(value: Any) -> dict[str, Any] | None:
    """An object given as an object, as JSON text, or as Java's `{key=value, ...}` text."""
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return _java_map(text[1:-1]) or None
    return as_mapping(parsed) if isinstance(parsed, dict) else None


def as_text(value: Any) -> str | None:
    """A scalar as Okta would print it; objects and lists as compact JSON; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def as_bool(value: Any) -> bool | None:
    """true/false, given as a boolean or as text in any case; anything else is unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _java_map(inner: str) -> dict[str, str]:
    keys = list(_JAVA_MAP_KEY.finditer(inner))
    pairs: dict[str, str] = {}
    for number, key in enumerate(keys):
        end = keys[number + 1].start() if number + 1 < len(keys) else len(inner)
        pairs[key.group(1).strip()] = inner[key.end() : end].strip()
    return pairs


def _get(event: Mapping[str, Any], *path: str) -> Any:
    value: Any = event
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _first(*sources: dict[str, Any] | None, key: str) -> Any:
    return next((s[key] for s in sources if s and s.get(key) is not None), None)
