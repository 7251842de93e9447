"""Rare, benign operations of a real org, at a rate per org-day: what detections of rare
events must tolerate, and what the noise benchmark measures them against.

They do not scale with traffic (an org rotates its API tokens as often at 10 events a minute
as at 1,000), and come from a random stream of their own, so adding one never moves the
ordinary events or the attacks of a seed. The rates are modelled, not measured from a tenant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from okta_pipeline.lib.okta_simulator.activity import Activity
from okta_pipeline.lib.okta_simulator.directory import Directory
from okta_pipeline.lib.okta_simulator.events import (
    Event,
    Origin,
    behaviors_blob,
    okta_verify_enrollment,
    origin_of,
    target,
    user_actor,
    user_target,
    web_event,
)

MINUTES_PER_DAY = 1440
LOG_POLLER_AGENT = ("Go-http-client/2.0", "Unknown", "UNKNOWN", "Unknown")


@dataclass(frozen=True)
class Operation:
    name: str
    per_day: float
    build: Activity


def log_poller_rate_limited(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """A SIEM's System Log poller catching up after an outage, at Okta's limit."""
    admin = directory.admins[0]
    origin = Origin(admin.home, "198.51.100.20", LOG_POLLER_AGENT)
    return [
        web_event(
            rng,
            start_ms,
            "system.org.rate_limit.violation",
            "Rate limit violation",
            user_actor(admin),
            origin,
            "SUCCESS",
            None,
            [target("/api/v1/logs", "URL Pattern", "unknown", "/api/v1/logs")],
            severity="WARN",
            request_uri="/api/v1/logs",
            debug={"threshold": "50", "timeSpan": "1", "timeUnit": "MINUTES"},
        )
    ]


def push_left_unanswered(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """A user who started a sign-in and walked away from the push."""
    person = rng.choice(directory.people)
    return [
        web_event(
            rng,
            start_ms,
            "user.authentication.auth_via_mfa",
            "Authentication of user via MFA",
            user_actor(person),
            origin_of(person, rng),
            "UNANSWERED",
            None,
            [okta_verify_enrollment(person)],
            request_uri="/idp/idx/authenticators/poll",
            debug={"factor": "OKTA_VERIFY_PUSH"},
        )
    ]


def number_mistyped(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """A user picking the wrong number on their own sign-in, then the right one."""
    person = rng.choice(directory.people)
    origin = origin_of(person, rng)
    enrollment = [okta_verify_enrollment(person)]
    events = []
    for offset, result, answer in (
        (0, "FAILURE", "OV_WITH_CHALLENGE_RESPONSE_ERROR"),
        (rng.randint(8_000, 20_000), "SUCCESS", "OV_WITH_CHALLENGE_RESPONSE_VALID"),
    ):
        events.append(
            web_event(
                rng,
                start_ms + offset,
                "user.authentication.auth_via_mfa",
                "Authentication of user via MFA",
                user_actor(person),
                origin,
                result,
                "INVALID_CREDENTIALS" if result == "FAILURE" else None,
                enrollment,
                request_uri="/idp/idx/authenticators/poll",
                debug={
                    "factor": "OKTA_VERIFY_PUSH",
                    "pushWithNumberChallengeResponseType": answer,
                },
            )
        )
    return events


def admin_console_new_device(
    rng: random.Random, directory: Directory, start_ms: int
) -> list[Event]:
    """An admin on a new laptop at their usual network: new device, known IP."""
    admin = rng.choice(directory.admins)
    console = target(
        directory.admin_console_id, "AppInstance", "Okta Admin Console", "Okta Admin Console"
    )
    return [
        web_event(
            rng,
            start_ms,
            "policy.evaluate_sign_on",
            "Evaluation of sign-on policy",
            user_actor(admin),
            origin_of(admin, rng),
            "ALLOW",
            "Sign-on policy evaluation resulted in ALLOW",
            [console],
            debug={"behaviors": behaviors_blob(False, True, False)},
        )
    ]


def api_token_rotated(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """An admin replacing an integration's API token: a new one, then the old one revoked."""
    admin = rng.choice(directory.admins)
    origin = origin_of(admin, rng)
    name = rng.choice(("scim-provisioning", "siem-log-poller", "terraform", "hr-sync"))
    events = []
    for offset, event_type, message in (
        (0, "system.api_token.create", "Create API token"),
        (rng.randint(60_000, 600_000), "system.api_token.revoke", "Revoke API token"),
    ):
        token = target(f"00T{rng.getrandbits(64):016x}", "Token", "unknown", name)
        events.append(
            web_event(
                rng,
                start_ms + offset,
                event_type,
                message,
                user_actor(admin),
                origin,
                "SUCCESS",
                None,
                [token],
                request_uri="/api/internal/tokens",
            )
        )
    return events


def lost_phone_factor_reset(rng: random.Random, directory: Directory, start_ms: int) -> list[Event]:
    """The help desk resetting the factors of a user who lost their phone."""
    admin = rng.choice(directory.admins)
    person = rng.choice(directory.staff)
    return [
        web_event(
            rng,
            start_ms,
            "user.mfa.factor.reset_all",
            "Reset all factors for user",
            user_actor(admin),
            origin_of(admin, rng),
            "SUCCESS",
            None,
            [user_target(person)],
            request_uri=f"/api/v1/users/{person.id}/lifecycle/reset_factors",
        )
    ]


OPERATIONS: tuple[Operation, ...] = (
    Operation("log_poller_rate_limited", 4.0, log_poller_rate_limited),
    Operation("push_left_unanswered", 3.0, push_left_unanswered),
    Operation("number_mistyped", 0.2, number_mistyped),
    Operation("admin_console_new_device", 0.5, admin_console_new_device),
    Operation("api_token_rotated", 0.1, api_token_rotated),
    Operation("lost_phone_factor_reset", 0.3, lost_phone_factor_reset),
)


def operations_in_minute(
    seed: int, minute: int, directory: Directory, operations: tuple[Operation, ...] = OPERATIONS
) -> list[Event]:
    """The operations that happen in one minute of the org, from their own random stream."""
    rng = random.Random(f"operations:{seed}:{minute}")
    start = minute * 60_000
    events: list[Event] = []
    for operation in operations:
        if rng.random() < operation.per_day / MINUTES_PER_DAY:
            events.extend(operation.build(rng, directory, start + rng.randint(0, 30_000)))
    return events
