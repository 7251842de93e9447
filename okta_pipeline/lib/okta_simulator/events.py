"""Build LogEvents in Okta's System Log schema, including the nulls and string blobs Okta sends."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from okta_pipeline.lib.okta_simulator.directory import Directory, Person, Place

Event = dict[str, Any]

_LEGACY = {
    "user.session.start": "core.user_auth.login_success",
    "user.authentication.auth_via_mfa": "core.user.factor.attempt_success",
    "user.account.lock": "core.user_auth.account_locked",
    "user.session.end": "core.user_auth.logout_success",
}


@dataclass(frozen=True)
class Origin:
    """Where a web request came from."""

    place: Place
    ip: str
    user_agent: tuple[str, str, str, str]


def origin_of(person: Person, rng: random.Random) -> Origin:
    return Origin(person.home, person.home.ip(rng), person.user_agent)


def format_published(published_ms: int) -> str:
    moment = datetime.fromtimestamp(published_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{published_ms % 1000:03d}Z"


def event_uuid(rng: random.Random) -> str:
    # Okta's uuids are version-1 UUIDs; the bits here come from the seeded generator.
    return str(uuid.UUID(int=rng.getrandbits(128), version=1))


def request_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@-"
    return "".join(rng.choice(alphabet) for _ in range(27))


def user_actor(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "type": "User",
        "alternateId": person.login,
        "displayName": person.display_name,
        "detailEntry": None,
    }


def system_actor(directory: Directory) -> dict[str, Any]:
    return {
        "id": directory.system_principal_id,
        "type": "SystemPrincipal",
        "alternateId": "system@okta.com",
        "displayName": "Okta System",
        "detailEntry": None,
    }


def target(
    target_id: str,
    target_type: str,
    alternate_id: str,
    display_name: str,
    detail_entry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": target_id,
        "type": target_type,
        "alternateId": alternate_id,
        "displayName": display_name,
        "detailEntry": detail_entry,
    }


def user_target(person: Person) -> dict[str, Any]:
    return target(person.id, "User", person.login, person.display_name)


def okta_verify_enrollment(person: Person) -> dict[str, Any]:
    """The target of an MFA event: the person's Okta Verify enrollment."""
    return target("pfd" + person.id[3:], "AuthenticatorEnrollment", "unknown", "Okta Verify")


def behaviors_blob(new_geo: bool, new_device: bool, new_ip: bool) -> str:
    """debugData.behaviors as Okta writes it: a map rendered as a string, not JSON."""

    def flag(value: bool) -> str:
        return "POSITIVE" if value else "NEGATIVE"

    return (
        f"{{New Geo-Location={flag(new_geo)}, New Device={flag(new_device)}, "
        f"New IP={flag(new_ip)}, New State={flag(new_geo)}, New Country={flag(new_geo)}, "
        f"Velocity={flag(new_geo and new_ip)}, New City={flag(new_geo)}}}"
    )


def _authentication_context(**values: Any) -> dict[str, Any]:
    """Okta sends every member, null when unknown."""
    return {
        "authenticationProvider": None,
        "credentialProvider": None,
        "credentialType": None,
        "issuer": None,
        "interface": None,
        "authenticationStep": 0,
        **values,
    }


def session_start(
    rng: random.Random,
    published_ms: int,
    person: Person,
    origin: Origin,
    result: str = "SUCCESS",
    reason: str | None = None,
    **details: Any,
) -> Event:
    """`user.session.start`: a sign-in to Okta, the event most detections start from."""
    return web_event(
        rng,
        published_ms,
        "user.session.start",
        "User login to Okta",
        user_actor(person),
        origin,
        result,
        reason,
        severity="INFO" if result == "SUCCESS" else "WARN",
        **details,
    )


def sso_event(
    rng: random.Random,
    published_ms: int,
    person: Person,
    origin: Origin,
    app: tuple[str, str, str],
    session_id: str | None = None,
) -> Event:
    """`user.authentication.sso` into an app (id, display name, app name) over SAML."""
    app_id, display, name = app
    return web_event(
        rng,
        published_ms,
        "user.authentication.sso",
        "User single sign on to app",
        user_actor(person),
        origin,
        "SUCCESS",
        None,
        [
            target(app_id, "AppInstance", display, display),
            target("0ua" + person.id[3:], "AppUser", person.login, person.display_name),
        ],
        session_id=session_id,
        request_uri=f"/app/{name}/{app_id}/sso/saml",
    )


def web_event(
    rng: random.Random,
    published_ms: int,
    event_type: str,
    display_message: str,
    actor: dict[str, Any],
    origin: Origin,
    result: str,
    reason: str | None = None,
    targets: list[dict[str, Any]] | None = None,
    severity: str = "INFO",
    session_id: str | None = None,
    request_uri: str = "/idp/idx/identify",
    debug: dict[str, Any] | None = None,
    authentication: dict[str, Any] | None = None,
) -> Event:
    """An event caused by a browser or API request, with geo, ASN and the request chain."""
    raw_agent, os_name, browser, device = origin.user_agent
    geo = origin.place.geographical_context()
    transaction_id = request_id(rng)
    debug_data: dict[str, Any] = {
        "requestId": transaction_id,
        "requestUri": request_uri,
        "url": f"{request_uri}?",
        "threatSuspected": "false",
        **(debug or {}),
    }
    if event_type in ("user.session.start", "policy.evaluate_sign_on"):
        debug_data.setdefault("dtHash", f"{rng.getrandbits(256):064x}")
    external_session = session_id or f"idx{request_id(rng)[:22]}"
    return {
        "actor": actor,
        "client": {
            "userAgent": {"rawUserAgent": raw_agent, "os": os_name, "browser": browser},
            "zone": "null",
            "device": device,
            "id": None,
            "ipAddress": origin.ip,
            "geographicalContext": geo,
        },
        "device": None,
        "authenticationContext": _authentication_context(
            rootSessionId=external_session,
            externalSessionId=external_session,
            **(authentication or {}),
        ),
        "displayMessage": display_message,
        "eventType": event_type,
        "outcome": {"result": result, "reason": reason},
        "published": format_published(published_ms),
        "securityContext": {
            "asNumber": origin.place.as_number,
            "asOrg": origin.place.as_org,
            "isp": origin.place.isp,
            "domain": origin.place.domain,
            "isProxy": origin.place.is_proxy,
        },
        "severity": severity,
        "debugContext": {"debugData": debug_data},
        "legacyEventType": _LEGACY.get(event_type),
        "transaction": {"type": "WEB", "id": transaction_id, "detail": {}},
        "uuid": event_uuid(rng),
        "version": "0",
        "request": {
            "ipChain": [
                {"ip": origin.ip, "geographicalContext": geo, "version": "V4", "source": None}
            ]
        },
        "target": targets,
    }


def job_event(
    rng: random.Random,
    published_ms: int,
    event_type: str,
    display_message: str,
    directory: Directory,
    targets: list[dict[str, Any]],
    legacy_event_type: str | None = None,
) -> Event:
    """A background job's event: no client, no geo, an empty ipChain, as Okta sends them."""
    transaction_id = request_id(rng)
    return {
        "actor": system_actor(directory),
        "client": {
            "userAgent": None,
            "zone": None,
            "device": None,
            "id": None,
            "ipAddress": None,
            "geographicalContext": None,
        },
        "device": None,
        "authenticationContext": _authentication_context(
            externalSessionId=f"{rng.getrandbits(160):040x}"[:32]
        ),
        "displayMessage": display_message,
        "eventType": event_type,
        "outcome": {"result": "SUCCESS", "reason": None},
        "published": format_published(published_ms),
        "securityContext": {
            "asNumber": None,
            "asOrg": None,
            "isp": None,
            "domain": None,
            "isProxy": None,
        },
        "severity": "INFO",
        "debugContext": {"debugData": {}},
        "legacyEventType": legacy_event_type,
        "transaction": {"type": "JOB", "id": transaction_id, "detail": {}},
        "uuid": event_uuid(rng),
        "version": "0",
        "request": {"ipChain": []},
        "target": targets,
    }


def log_only_security_data(level: str, reasons: str, new_geo: bool, new_device: bool) -> str:
    """debugData.logOnlySecurityData: a JSON document carried as a string."""
    flag = {True: "POSITIVE", False: "NEGATIVE"}
    return json.dumps(
        {
            "risk": {"reasons": reasons, "level": level},
            "behaviors": {
                "New Geo-Location": flag[new_geo],
                "New Device": flag[new_device],
                "New IP": flag[new_geo],
                "New State": flag[new_geo],
                "New Country": flag[new_geo],
                "Velocity": flag[new_geo],
                "New City": flag[new_geo],
            },
        },
        separators=(",", ":"),
    )
