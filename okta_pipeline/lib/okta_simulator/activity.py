"""Ordinary activity in the simulated org: sign-ins, SSO, MFA, admin work and background jobs."""

from __future__ import annotations

import random
from collections.abc import Callable

from okta_pipeline.lib.okta_simulator.directory import ORDINARY_GROUPS, Directory
from okta_pipeline.lib.okta_simulator.events import (
    Event,
    behaviors_blob,
    job_event,
    log_only_security_data,
    okta_verify_enrollment,
    origin_of,
    session_start,
    sso_event,
    target,
    user_actor,
    user_target,
    web_event,
)

Activity = Callable[[random.Random, Directory, int], list[Event]]


def sign_in(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """Sign-on policy, MFA and the session start: the commonest flow in any org."""
    person = rng.choice(directory.people)
    origin = origin_of(person, rng)
    actor = user_actor(person)
    session = f"idx{rng.getrandbits(96):024x}"
    new_device = rng.random() < 0.03
    policy = [
        target(
            "00p" + person.id[3:],
            "PolicyEntity",
            "unknown",
            "Default Policy",
            {"policyType": "OktaSignOn"},
        ),
        target("0pr" + person.id[3:], "PolicyRule", "00p" + person.id[3:], "Default Rule"),
    ]
    factor = rng.choice(("OKTA_VERIFY_PUSH", "FIDO_WEBAUTHN", "SIGNED_NONCE"))
    events = [
        web_event(
            rng,
            start_ms,
            "policy.evaluate_sign_on",
            "Evaluation of sign-on policy",
            actor,
            origin,
            "ALLOW",
            "Sign-on policy evaluation resulted in ALLOW",
            policy,
            session_id=session,
            debug={"behaviors": behaviors_blob(False, new_device, False), "risk": "{level=LOW}"},
        ),
        web_event(
            rng,
            start_ms + rng.randint(800, 2500),
            "user.authentication.auth_via_mfa",
            "Authentication of user via MFA",
            actor,
            origin,
            "SUCCESS",
            None,
            [okta_verify_enrollment(person)],
            session_id=session,
            request_uri="/idp/idx/authenticators/poll",
            debug={"factor": factor},
            authentication={"credentialType": factor},
        ),
        session_start(
            rng,
            start_ms + rng.randint(2600, 4000),
            person,
            origin,
            session_id=session,
            request_uri="/idp/idx/authenticators/poll",
            debug={"logOnlySecurityData": log_only_security_data("LOW", "None", False, new_device)},
        ),
    ]
    return events


def failed_password(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """A mistyped password: the background noise that brute-force detections must tolerate."""
    person = rng.choice(directory.people)
    return [
        session_start(
            rng, start_ms, person, origin_of(person, rng), "FAILURE", "INVALID_CREDENTIALS"
        )
    ]


def app_sso(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    person = rng.choice(directory.people)
    app = rng.choice(directory.apps)
    return [sso_event(rng, start_ms, person, origin_of(person, rng), app)]


def sign_out(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    person = rng.choice(directory.people)
    return [
        web_event(
            rng,
            start_ms,
            "user.session.end",
            "User logout from Okta",
            user_actor(person),
            origin_of(person, rng),
            "SUCCESS",
            None,
            request_uri="/login/signout",
        )
    ]


def admin_console(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    admin = rng.choice(directory.admins)
    return [
        web_event(
            rng,
            start_ms,
            "user.session.access_admin_app",
            "User accessing Okta admin app",
            user_actor(admin),
            origin_of(admin, rng),
            "SUCCESS",
            None,
            [
                target(
                    directory.admin_console_id,
                    "AppInstance",
                    "Okta Admin Console",
                    "Okta Admin Console",
                )
            ],
            request_uri="/admin/sso/callback",
        )
    ]


def profile_update(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    person = rng.choice(directory.people)
    return [
        web_event(
            rng,
            start_ms,
            "user.account.update_profile",
            "Update user profile for Okta",
            user_actor(person),
            origin_of(person, rng),
            "SUCCESS",
            None,
            [user_target(person)],
            request_uri="/api/v1/users/me",
        )
    ]


def group_sync_job(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """A directory import adding someone to an ordinary group: a JOB event without geo."""
    person = rng.choice(directory.staff)
    group = rng.choice(ORDINARY_GROUPS)
    return [
        job_event(
            rng,
            start_ms,
            "group.user_membership.add",
            "Add user to group membership",
            directory,
            [user_target(person), target(directory.groups[group], "UserGroup", "unknown", group)],
            legacy_event_type="core.user_group_member.user_add",
        )
    ]


def app_provisioning_job(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    person = rng.choice(directory.staff)
    app_id, display, _ = rng.choice(directory.apps)
    return [
        job_event(
            rng,
            start_ms,
            "app.user_management",
            "Successfully imported new member to an app group",
            directory,
            [
                target("0ua" + person.id[3:], "AppUser", person.login, person.login),
                user_target(person),
                target(app_id, "AppInstance", display, display),
            ],
            legacy_event_type="app.user_management.app_group_member_import.insert_success",
        )
    ]


def rate_limit_warning(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    return [
        job_event(
            rng,
            start_ms,
            "system.org.rate_limit.warning",
            "Rate limit warning",
            directory,
            [
                target(
                    "/api/v1/users",
                    "URL Pattern",
                    "unknown",
                    "/api/v1/users",
                    {"limit": 600, "remaining": 60},
                )
            ],
        )
    ]


# (activity, relative weight) chosen per activity slot; sizes average a little over two events.
ORDINARY_ACTIVITIES: tuple[tuple[Activity, float], ...] = (
    (sign_in, 30.0),
    (app_sso, 35.0),
    (sign_out, 10.0),
    (failed_password, 3.0),
    (profile_update, 2.0),
    (admin_console, 2.0),
    (group_sync_job, 4.0),
    (app_provisioning_job, 3.0),
    (rate_limit_warning, 0.3),
)
