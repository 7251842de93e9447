"""Injected attack scenarios. Every event a scenario emits is labelled with its name (the truth)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from okta_pipeline.lib.okta_simulator.directory import (
    ADMIN_GROUPS,
    ADMIN_ROLES,
    ATTACKER_AGENTS,
    HOSTILE_PLACES,
    Directory,
    Place,
)
from okta_pipeline.lib.okta_simulator.events import (
    Event,
    Origin,
    behaviors_blob,
    origin_of,
    session_start,
    target,
    user_actor,
    user_target,
    web_event,
)

SECOND = 1000
MINUTE = 60 * SECOND


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_ms: int
    build: Callable[[random.Random, Directory, int], list[Event]]
    detected_by: str
    """The catalog detection meant to find this attack (the demo and tests check it does)."""


def attacker_origin(rng: random.Random, proxy: bool = False) -> Origin:
    """Where an attacker connects from: a hostile country, or a proxy or Tor exit."""
    places = [p for p in HOSTILE_PLACES if p.is_proxy == proxy]
    place = rng.choice(places)
    return Origin(place, place.ip(rng), rng.choice(ATTACKER_AGENTS))


def _far_place(rng: random.Random, home: Place) -> Place:
    return rng.choice([p for p in HOSTILE_PLACES if not p.is_proxy and p.country != home.country])


def brute_force(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    victim = rng.choice(directory.staff)
    origin = attacker_origin(rng)
    events = [
        session_start(rng, start + i * 9 * SECOND, victim, origin, "FAILURE", "INVALID_CREDENTIALS")
        for i in range(15)
    ]
    events.append(
        web_event(
            rng,
            start + 15 * 9 * SECOND,
            "user.account.lock",
            "Max sign in attempts exceeded",
            user_actor(victim),
            origin,
            "FAILURE",
            "LOCKED_OUT",
            severity="WARN",
        )
    )
    return events


def password_spray(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    origin = attacker_origin(rng)
    victims = rng.sample(directory.staff, k=min(30, len(directory.staff)))
    return [
        session_start(rng, start + i * 7 * SECOND, victim, origin, "FAILURE", "INVALID_CREDENTIALS")
        for i, victim in enumerate(victims)
    ]


def mfa_push_fatigue(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    """Pushes the victim denies or ignores, until one is accepted and the attacker is in."""
    victim = rng.choice(directory.staff)
    origin = attacker_origin(rng)
    actor = user_actor(victim)
    verify = [target("pfd" + victim.id[3:], "AuthenticatorEnrollment", "unknown", "Okta Verify")]
    events: list[Event] = []
    at = start
    for attempt in range(9):
        events.append(
            web_event(
                rng,
                at,
                "system.push.send_factor_verify_push",
                "Push notification sent for verification",
                actor,
                origin,
                "SUCCESS",
                None,
                verify,
            )
        )
        if attempt < 5:
            events.append(
                web_event(
                    rng,
                    at + 8 * SECOND,
                    "user.mfa.okta_verify.deny_push",
                    "User rejected Okta push verify",
                    actor,
                    origin,
                    "FAILURE",
                    "User rejected Okta push verify",
                    verify,
                    severity="WARN",
                )
            )
        elif attempt < 8:
            events.append(
                web_event(
                    rng,
                    at + 30 * SECOND,
                    "user.authentication.auth_via_mfa",
                    "Authentication of user via MFA",
                    actor,
                    origin,
                    "UNANSWERED",
                    "Okta Verify push timed out",
                    verify,
                    severity="WARN",
                    debug={"factor": "OKTA_VERIFY_PUSH"},
                )
            )
        else:
            events.append(
                web_event(
                    rng,
                    at + 5 * SECOND,
                    "user.authentication.auth_via_mfa",
                    "Authentication of user via MFA",
                    actor,
                    origin,
                    "SUCCESS",
                    None,
                    verify,
                    debug={"factor": "OKTA_VERIFY_PUSH"},
                )
            )
            events.append(session_start(rng, at + 7 * SECOND, victim, origin))
        at += 40 * SECOND
    return events


def impossible_travel(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    """A sign-in at home, then one from another continent twenty minutes later."""
    victim = rng.choice(directory.staff)
    far = _far_place(rng, victim.home)
    away = Origin(far, far.ip(rng), victim.user_agent)
    return [
        session_start(rng, start, victim, origin_of(victim, rng)),
        session_start(
            rng,
            start + 20 * MINUTE,
            victim,
            away,
            debug={
                "behaviors": behaviors_blob(True, False, True),
                "risk": "{reasons=Anomalous Location, level=HIGH}",
            },
        ),
    ]


def _grant(rng: random.Random, directory: Directory, start: int, to_self: bool) -> list[Event]:
    admins = list(directory.admins)
    granter = rng.choice(admins)
    grantee = granter if to_self else rng.choice(directory.staff)
    role = rng.choice(ADMIN_ROLES)
    return [
        web_event(
            rng,
            start,
            "user.account.privilege.grant",
            "Grant user privilege",
            user_actor(granter),
            origin_of(granter, rng),
            "SUCCESS",
            None,
            [user_target(grantee)],
            request_uri=f"/api/v1/users/{grantee.id}/roles",
            debug={"privilegeGranted": role},
        )
    ]


def admin_role_granted(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    return _grant(rng, directory, start, to_self=False)


def admin_role_self_granted(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    return _grant(rng, directory, start, to_self=True)


def admin_group_add(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    admin = rng.choice(directory.admins)
    member = rng.choice(directory.staff)
    group = rng.choice(ADMIN_GROUPS)
    return [
        web_event(
            rng,
            start,
            "group.user_membership.add",
            "Add user to group membership",
            user_actor(admin),
            origin_of(admin, rng),
            "SUCCESS",
            None,
            [user_target(member), target(directory.groups[group], "UserGroup", "unknown", group)],
            request_uri=f"/api/v1/groups/{directory.groups[group]}/users/{member.id}",
        )
    ]


def admin_console_denied(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    intruder = rng.choice(directory.staff)
    return [
        web_event(
            rng,
            start + i * 20 * SECOND,
            "user.session.access_admin_app",
            "User accessing Okta admin app",
            user_actor(intruder),
            origin_of(intruder, rng),
            "FAILURE",
            "User attempted unauthorized access to app",
            [
                target(
                    directory.admin_console_id,
                    "AppInstance",
                    "Okta Admin Console",
                    "Okta Admin Console",
                )
            ],
            severity="WARN",
            request_uri="/admin/sso/callback",
        )
        for i in range(2)
    ]


def api_token_created(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    admin = rng.choice(directory.admins)
    token_id = "00T" + admin.id[3:]
    return [
        web_event(
            rng,
            start,
            "system.api_token.create",
            "Create API token",
            user_actor(admin),
            origin_of(admin, rng),
            "SUCCESS",
            None,
            [target(token_id, "Token", "unknown", "ci-automation")],
            request_uri="/api/internal/tokens",
        )
    ]


def mfa_reset_new_device(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    """Help desk resets MFA; a new device enrols; the account signs in from a new network."""
    helpdesk = rng.choice(directory.admins)
    victim = rng.choice(directory.staff)
    attacker = attacker_origin(rng)
    actor = user_actor(victim)
    return [
        web_event(
            rng,
            start,
            "user.mfa.factor.reset_all",
            "Reset all factors for user",
            user_actor(helpdesk),
            origin_of(helpdesk, rng),
            "SUCCESS",
            None,
            [user_target(victim)],
            request_uri=f"/api/v1/users/{victim.id}/lifecycle/reset_factors",
        ),
        web_event(
            rng,
            start + 6 * MINUTE,
            "device.enrollment.create",
            "Enroll new device",
            actor,
            attacker,
            "SUCCESS",
            None,
            [target("guo" + victim.id[3:], "Device", "unknown", "Pixel 8")],
        ),
        web_event(
            rng,
            start + 7 * MINUTE,
            "user.mfa.factor.activate",
            "Activate factor or authenticator",
            actor,
            attacker,
            "SUCCESS",
            None,
            [
                target(
                    "pfd" + victim.id[4:] + "x", "AuthenticatorEnrollment", "unknown", "Okta Verify"
                )
            ],
        ),
        session_start(
            rng,
            start + 9 * MINUTE,
            victim,
            attacker,
            debug={"behaviors": behaviors_blob(True, True, True)},
        ),
    ]


def session_reuse(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    """A session cookie stolen after sign-in and replayed from another ASN."""
    victim = rng.choice(directory.staff)
    session = f"idx{rng.getrandbits(96):024x}"
    thief = attacker_origin(rng, proxy=rng.random() < 0.5)
    app_id, display, name = rng.choice(directory.apps)
    return [
        session_start(rng, start, victim, origin_of(victim, rng), session_id=session),
        web_event(
            rng,
            start + 12 * MINUTE,
            "user.authentication.sso",
            "User single sign on to app",
            user_actor(victim),
            thief,
            "SUCCESS",
            None,
            [target(app_id, "AppInstance", display, display)],
            session_id=session,
            request_uri=f"/app/{name}/{app_id}/sso/saml",
        ),
    ]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("brute_force", 3 * MINUTE, brute_force, "okta_brute_force_user"),
    Scenario("password_spray", 4 * MINUTE, password_spray, "okta_password_spray"),
    Scenario("mfa_push_fatigue", 7 * MINUTE, mfa_push_fatigue, "okta_mfa_push_fatigue"),
    Scenario("impossible_travel", 21 * MINUTE, impossible_travel, "okta_impossible_travel"),
    Scenario("admin_role_granted", 1 * MINUTE, admin_role_granted, "okta_admin_role_granted"),
    Scenario(
        "admin_role_self_granted", 1 * MINUTE, admin_role_self_granted, "okta_privilege_self_grant"
    ),
    Scenario("admin_group_add", 1 * MINUTE, admin_group_add, "okta_user_added_to_admin_group"),
    Scenario(
        "admin_console_denied",
        1 * MINUTE,
        admin_console_denied,
        "okta_admin_console_access_denied",
    ),
    Scenario("api_token_created", 1 * MINUTE, api_token_created, "okta_api_token_created"),
    Scenario("mfa_reset_new_device", 10 * MINUTE, mfa_reset_new_device, "okta_mfa_reset_takeover"),
    Scenario("session_reuse", 13 * MINUTE, session_reuse, "okta_session_from_two_networks"),
)
