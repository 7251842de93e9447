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
    "pushWithNumberChallengeResponseType",
    "grantType",
    "grantedScopes",
    "signOnMode",
    "suspiciousActivityEventType",
)
ADMIN_SCOPE_PREFIX = "okta."
"""Okta's management API scopes (`okta.users.manage`, ...): what an admin can do."""
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
    if categories := _texts(_get(event, "securityContext", "ipDetails", "ipServiceCategories")):
        derived["ip_service_categories"] = categories
    tunnels = [t for t in _as_list(_parsed(debug.get("tunnels") if debug else None)) if t]
    if tunnels:
        derived["anonymous_tunnel"] = any(as_bool(t.get("anonymous")) is True for t in tunnels)
        derived["tunnel_types"] = sorted({str(t["type"]).upper() for t in tunnels if t.get("type")})
        derived["tunnel_operators"] = sorted(
            {str(t["operator"]) for t in tunnels if t.get("operator")}
        )
    if scopes := _scopes(debug, event.get("target")):
        derived["granted_scopes"] = scopes
        derived["admin_scopes"] = [s for s in scopes if _is_admin_scope(s)]
    if weakened := policy_weakenings(event.get("target")):
        derived["policy_weakened"] = weakened
    if (action := threat_insight_action(debug, event.get("target"))) is not None:
        derived["threat_insight_action"] = action
    return derived


def threat_insight_action(debug: dict[str, Any] | None, targets: Any) -> str | None:
    """ThreatInsight's action after a configuration change (`NONE`, `AUDIT`, `BLOCK`): the `to`
    side of a target's changeDetails, or debugData's `action`."""
    for target in _as_list(targets):
        change = target.get("changeDetails") if isinstance(target, dict) else None
        after = as_mapping(change.get("to")) if isinstance(change, dict) else None
        if after and (action := as_text(after.get("action"))):
            return action.upper()
    found = as_text(debug.get("action")) if debug else None
    return found.upper() if found else None


def policy_weakenings(targets: Any) -> list[str]:
    """How a policy rule change weakened sign-on, from its `changeDetails` (the rule's actions
    before and after, JSON text or objects): MFA no longer required, two factors down to one,
    a longer session lifetime or idle time, persistent session cookies allowed."""
    found: set[str] = set()
    for target in _as_list(targets):
        change = target.get("changeDetails") if isinstance(target, dict) else None
        if not isinstance(change, dict):
            continue
        before = _actions(change.get("from"))
        after = _actions(change.get("to"))
        if before is None or after is None:
            continue
        if _path(before, "signon", "requireFactor") is True and (
            _path(after, "signon", "requireFactor") is False
        ):
            found.add("mfa_no_longer_required")
        factor = ("appSignOn", "verificationMethod", "factorMode")
        if _path(before, *factor) == "2FA" and _path(after, *factor) == "1FA":
            found.add("two_factors_to_one")
        for key, label in (
            ("maxSessionLifetimeMinutes", "session_lifetime_raised"),
            ("maxSessionIdleMinutes", "session_idle_raised"),
        ):
            if _longer(
                _path(after, "signon", "session", key), _path(before, "signon", "session", key)
            ):
                found.add(label)
        persistent = ("signon", "session", "usePersistentCookie")
        if _path(before, *persistent) is False and _path(after, *persistent) is True:
            found.add("persistent_cookie_allowed")
    return sorted(found)


def _actions(value: Any) -> dict[str, Any] | None:
    """A changeDetails side: its `policyRuleActionJson` (or the side itself), parsed."""
    side = _parsed(value)
    if not isinstance(side, dict):
        return None
    actions = _parsed(side.get("policyRuleActionJson", side))
    return actions if isinstance(actions, dict) else None


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        value = _parsed(value)
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    found = as_bool(value)
    return found if found is not None else value


def _longer(new: Any, old: Any) -> bool:
    """Whether a session limit in minutes grew; 0 means no limit in Okta's settings."""
    try:
        after, before = int(new), int(old)
    except (TypeError, ValueError):
        return False
    if before == 0:
        return False
    return after == 0 or after > before


def _scopes(debug: dict[str, Any] | None, targets: Any) -> list[str]:
    """OAuth scopes granted or consented to: debugData's comma-separated text, and targets of
    type Scope."""
    found: set[str] = set()
    for key in ("grantedScopes", "scopes", "requestedScopes"):
        text = as_text(debug.get(key)) if debug else None
        if text:
            found |= {part.strip() for part in text.replace(" ", ",").split(",") if part.strip()}
    for target in _as_list(targets):
        if isinstance(target, dict) and str(target.get("type", "")).lower().endswith("scope"):
            name = target.get("alternateId") or target.get("displayName")
            if isinstance(name, str) and name:
                found.add(name)
    return sorted(found)


def _is_admin_scope(scope: str) -> bool:
    """`okta.users.manage` is; `okta.users.manage.self` and `okta.users.read` are not."""
    return scope.startswith(ADMIN_SCOPE_PREFIX) and scope.endswith(".manage")


def _parsed(value: Any) -> Any:
    """JSON text as its value; anything else as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _texts(value: Any) -> list[str]:
    return sorted({str(v) for v in _as_list(_parsed(value)) if v not in (None, "")})


def as_mapping(value: Any) -> dict[str, Any] | None:
    """An object given as an object, as JSON text, as Java's `{key=value, ...}` text, or as a
    list of `key=value` texts."""
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, str) and "=" in v for v in value):
        return dict(v.split("=", 1) for v in value)
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
