"""Cross-source attacks: Okta and AWS sides of one story, every event labelled with the truth.

Two start in Okta (`CROSS_SOURCE_OKTA_SCENARIOS`, served by `SimulatedOrg(scenarios=...)`); the
trail finds their SSO into the AWS app and builds the AWS side, seeded by the incident id. Two
are AWS only (`TRAIL_SCENARIOS`) and the trail schedules them itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from okta_pipeline.lib.aws_simulator.accounts import (
    ADMIN_ROLE,
    AwsOrganization,
    access_key_id,
    unique_id,
)
from okta_pipeline.lib.aws_simulator.apis import APIS, Target, call
from okta_pipeline.lib.aws_simulator.federation import (
    BOTO3_AGENT,
    CONSOLE_INTERNAL_AGENT,
    SamlSession,
    SessionNameStyle,
    assume_role_with_saml,
    federated_console_login,
    is_aws_sso,
    pick_role,
    session_name,
)
from okta_pipeline.lib.aws_simulator.records import (
    Record,
    console_sign_in,
    iam_user_identity,
    java_date,
    root_identity,
)
from okta_pipeline.lib.okta_simulator.directory import (
    ATTACKER_AGENTS,
    AWS_APP_NAME,
    USER_AGENTS,
    Directory,
    Person,
)
from okta_pipeline.lib.okta_simulator.events import (
    Event,
    Origin,
    behaviors_blob,
    log_only_security_data,
    origin_of,
    session_start,
    sso_event,
    target,
    user_actor,
    user_target,
    web_event,
)
from okta_pipeline.lib.okta_simulator.scenarios import Scenario, attacker_origin
from okta_pipeline.lib.okta_simulator.sources import StoredEvent

SECOND = 1000
MINUTE = 60 * SECOND


@dataclass(frozen=True)
class ScenarioContext:
    """What the AWS side of a scenario builds from."""

    org: AwsOrganization
    directory: Directory
    style: SessionNameStyle


AwsSide = Callable[[random.Random, ScenarioContext, Sequence[StoredEvent]], list[Record]]


@dataclass(frozen=True)
class CrossSourceScenario:
    okta: Scenario
    build_aws: AwsSide
    """Builds the AWS records from the incident's Okta events."""


@dataclass(frozen=True)
class AwsScenario:
    name: str
    duration_ms: int
    build: Callable[[random.Random, ScenarioContext, int, frozenset[str]], list[Record]]
    """(rng, context, start, logins with an Okta SSO into AWS near the start) -> records."""
    detected_by: str


def _aws_app(directory: Directory) -> tuple[str, str, str]:
    for app in directory.apps:
        if app[2] == AWS_APP_NAME:
            return app
    raise ValueError(f"the Okta directory has no {AWS_APP_NAME} app to sign in to AWS through")


def _sign_in(
    rng: random.Random,
    person: Person,
    origin: Origin,
    session: str,
    start: int,
    risky: bool,
) -> list[Event]:
    """Sign-on policy, MFA and the session start; a risky one from a new country or proxy."""
    if risky:
        reasons = "Anomalous Location, New Device, New IP"
        if origin.place.is_proxy:
            reasons = "Suspected Proxy, " + reasons
        behaviors = behaviors_blob(True, True, True)
        security = log_only_security_data("HIGH", reasons, True, True)
        risk = f"{{reasons={reasons}, level=HIGH}}"
    else:
        behaviors = behaviors_blob(False, False, False)
        security = log_only_security_data("LOW", "None", False, False)
        risk = "{level=LOW}"
    actor = user_actor(person)
    policy = [
        target(
            "00p" + person.id[3:],
            "PolicyEntity",
            "unknown",
            "Default Policy",
            {"policyType": "OktaSignOn"},
        )
    ]
    verify = [target("pfd" + person.id[3:], "AuthenticatorEnrollment", "unknown", "Okta Verify")]
    return [
        web_event(
            rng,
            start,
            "policy.evaluate_sign_on",
            "Evaluation of sign-on policy",
            actor,
            origin,
            "ALLOW",
            "Sign-on policy evaluation resulted in ALLOW",
            policy,
            session_id=session,
            debug={"behaviors": behaviors, "risk": risk},
        ),
        web_event(
            rng,
            start + rng.randint(8 * SECOND, 30 * SECOND),
            "user.authentication.auth_via_mfa",
            "Authentication of user via MFA",
            actor,
            origin,
            "SUCCESS",
            None,
            verify,
            session_id=session,
            request_uri="/idp/idx/authenticators/poll",
            debug={"factor": "OKTA_VERIFY_PUSH"},
            authentication={"credentialType": "OKTA_VERIFY_PUSH"},
        ),
        session_start(
            rng,
            start + rng.randint(32 * SECOND, 40 * SECOND),
            person,
            origin,
            session_id=session,
            request_uri="/idp/idx/authenticators/poll",
            debug={"behaviors": behaviors, "risk": risk, "logOnlySecurityData": security},
        ),
    ]


def risky_sign_in_okta(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    """A sign-in from a new country or through a proxy or Tor, then SSO into AWS in that session."""
    victim = rng.choice(directory.people)
    origin = attacker_origin(rng, proxy=rng.random() < 0.4)
    session = f"idx{rng.getrandbits(96):024x}"
    events = _sign_in(rng, victim, origin, session, start, risky=True)
    sso_at = start + rng.randint(70 * SECOND, 150 * SECOND)
    events.append(sso_event(rng, sso_at, victim, origin, _aws_app(directory), session))
    return events


def suspended_user_okta(rng: random.Random, directory: Directory, start: int) -> list[Event]:
    """An ordinary sign-in and SSO into AWS; about eight minutes later an admin suspends the
    user (now and then deactivates them)."""
    victim = rng.choice(directory.staff)
    origin = origin_of(victim, rng)
    session = f"idx{rng.getrandbits(96):024x}"
    events = _sign_in(rng, victim, origin, session, start, risky=False)
    sso_at = start + rng.randint(45 * SECOND, 90 * SECOND)
    events.append(sso_event(rng, sso_at, victim, origin, _aws_app(directory), session))
    admin = rng.choice(directory.admins)
    action, message = ("suspend", "Suspend Okta user")
    if rng.random() < 0.2:
        action, message = ("deactivate", "Deactivate Okta user")
    events.append(
        web_event(
            rng,
            sso_at + rng.randint(450 * SECOND, 510 * SECOND),
            f"user.lifecycle.{action}",
            message,
            user_actor(admin),
            origin_of(admin, rng),
            "SUCCESS",
            None,
            [user_target(victim)],
            request_uri=f"/api/v1/users/{victim.id}/lifecycle/{action}",
        )
    )
    return events


def _okta_sso(okta: Sequence[StoredEvent]) -> StoredEvent:
    return next(s for s in okta if is_aws_sso(s.event))


def _person(context: ScenarioContext, login: str) -> Person:
    return next(p for p in context.directory.people if p.login == login)


_NEW_USERS = ("svc-backup-sync", "aws-support-ops", "ci-deploy-bot", "monitoring-agent")


def risky_sign_in_aws(
    rng: random.Random, context: ScenarioContext, okta: Sequence[StoredEvent]
) -> list[Record]:
    """AssumeRoleWithSAML from the attacker's IP, then IAM persistence within minutes."""
    org = context.org
    sso = _okta_sso(okta)
    login = sso.event["actor"]["alternateId"]
    source_ip = sso.event["client"]["ipAddress"]
    browser = sso.event["client"]["userAgent"]["rawUserAgent"]
    account = org.accounts[0]
    role = account.federated_roles[ADMIN_ROLE]
    name = session_name(login, context.style)
    at = sso.published_ms + rng.randint(1 * SECOND, 4 * SECOND)
    target = Target(account, rng.choice(org.regions), org.global_region)
    records: list[Record] = []
    if rng.random() < 0.5:
        session, assumed = assume_role_with_saml(
            rng, org, account, role, login, name, at, source_ip, browser, with_tls=False
        )
        records += [assumed, federated_console_login(rng, org, session, at + SECOND, browser)]
        identity = session.identity_with_key(access_key_id(rng))
        agent, console = CONSOLE_INTERNAL_AGENT, True
        recon = "ListUsers"
    else:
        session, assumed = assume_role_with_saml(
            rng, org, account, role, login, name, at, source_ip, BOTO3_AGENT, with_tls=True
        )
        records.append(assumed)
        identity, agent, console = session.identity, BOTO3_AGENT, False
        recon = "GetCallerIdentity"
    records.append(
        call(
            rng,
            APIS[recon],
            at + rng.randint(5 * SECOND, 20 * SECOND),
            identity,
            target,
            source_ip,
            agent,
            console=console,
        )
    )
    new_user = rng.choice(_NEW_USERS)
    persist_at = at + rng.randint(60 * SECOND, 180 * SECOND)
    records.extend(
        _persistence(rng, session, identity, target, new_user, persist_at, agent, console)
    )
    return records


def _persistence(
    rng: random.Random,
    session: SamlSession,
    identity: dict[str, Any],
    target: Target,
    new_user: str,
    at: int,
    agent: str,
    console: bool,
) -> list[Record]:
    """CreateUser and CreateAccessKey in one second, AdministratorAccess, a console password,
    and sometimes a public bucket policy or CloudTrail stopped."""
    account = target.account
    user_arn = f"arn:aws:iam::{account.id}:user/{new_user}"
    created = java_date(at)
    plan: list[tuple[str, int, object, object]] = [
        (
            "CreateUser",
            0,
            {"userName": new_user},
            {
                "user": {
                    "path": "/",
                    "userName": new_user,
                    "userId": unique_id(rng, "AIDA"),
                    "arn": user_arn,
                    "createDate": created,
                }
            },
        ),
        (
            "CreateAccessKey",
            0,
            {"userName": new_user},
            {
                "accessKey": {
                    "userName": new_user,
                    "accessKeyId": access_key_id(rng, "AKIA"),
                    "status": "Active",
                    "createDate": created,
                }
            },
        ),
        (
            "AttachUserPolicy",
            rng.randint(0, 1),
            {"userName": new_user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            None,
        ),
        (
            "CreateLoginProfile",
            rng.randint(1, 3),
            {"userName": new_user, "passwordResetRequired": False},
            {
                "loginProfile": {
                    "userName": new_user,
                    "createDate": created,
                    "passwordResetRequired": False,
                }
            },
        ),
    ]
    if rng.random() < 0.5:
        bucket = rng.choice(account.buckets[:3])
        plan.append(
            (
                "PutBucketPolicy",
                rng.randint(5, 30),
                {
                    "bucketName": bucket,
                    "Host": f"{bucket}.s3.amazonaws.com",
                    "policy": "",
                    "bucketPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{bucket}/*",
                            }
                        ],
                    },
                },
                None,
            )
        )
    if rng.random() < 0.35:
        plan.append(("StopLogging", rng.randint(10, 40), {"name": account.trail_arn}, None))
    return [
        call(
            rng,
            APIS[api_name],
            at + delay * SECOND,
            identity,
            target,
            session.source_ip,
            agent,
            console=console,
            request=request,
            response=response,
        )
        for api_name, delay, request, response in plan
    ]


def suspended_user_aws(
    rng: random.Random, context: ScenarioContext, okta: Sequence[StoredEvent]
) -> list[Record]:
    """The suspended user's AWS session keeps working: its STS credentials live an hour."""
    org = context.org
    sso = _okta_sso(okta)
    lifecycle = next(s for s in okta if s.event["eventType"].startswith("user.lifecycle."))
    login = sso.event["actor"]["alternateId"]
    source_ip = sso.event["client"]["ipAddress"]
    account = rng.choice(org.accounts)
    role = pick_role(rng, account, _person(context, login).is_admin)
    at = sso.published_ms + rng.randint(1 * SECOND, 4 * SECOND)
    session, assumed = assume_role_with_saml(
        rng,
        org,
        account,
        role,
        login,
        session_name(login, context.style),
        at,
        source_ip,
        BOTO3_AGENT,
        with_tls=True,
    )
    target = Target(account, rng.choice(org.regions), org.global_region)
    reads = ("ListBuckets", "DescribeInstances", "GetSecretValue", "ListSecrets", "GetParameter")
    before = sorted(
        rng.randint(at + 10 * SECOND, lifecycle.published_ms - 30 * SECOND)
        for _ in range(rng.randint(2, 4))
    )
    after = sorted(
        lifecycle.published_ms + rng.randint(2 * MINUTE, 15 * MINUTE)
        for _ in range(rng.randint(3, 6))
    )
    return [
        assumed,
        *(
            call(
                rng, APIS[rng.choice(reads)], when, session.identity, target, source_ip, BOTO3_AGENT
            )
            for when in (*before, *after)
        ),
    ]


def golden_saml(
    rng: random.Random, context: ScenarioContext, start: int, signed_in: frozenset[str]
) -> list[Record]:
    """A forged SAML assertion naming a real Okta user: AssumeRoleWithSAML with no Okta SSO
    behind it, from an attacker's address, then reconnaissance and a secret read. The user is
    one with no SSO into AWS near it, so that nothing real could explain it."""
    org = context.org
    person = rng.choice([p for p in context.directory.people if p.login not in signed_in])
    origin = attacker_origin(rng, proxy=rng.random() < 0.5)
    account = rng.choice(org.accounts)
    role = account.federated_roles[ADMIN_ROLE]
    session, assumed = assume_role_with_saml(
        rng,
        org,
        account,
        role,
        person.login,
        session_name(person.login, context.style),
        start,
        origin.ip,
        BOTO3_AGENT,
        with_tls=True,
    )
    target = Target(account, rng.choice(org.regions), org.global_region)
    names = ["GetCallerIdentity", "ListUsers", "ListRoles", "ListBuckets", "GetSecretValue"]
    times = sorted(start + rng.randint(5 * SECOND, 8 * MINUTE) for _ in names[: rng.randint(3, 5)])
    return [
        assumed,
        *(
            call(rng, APIS[name], when, session.identity, target, origin.ip, BOTO3_AGENT)
            for name, when in zip(names, times, strict=False)
        ),
    ]


def console_login_bypassing_okta(
    rng: random.Random, context: ScenarioContext, start: int, signed_in: frozenset[str]
) -> list[Record]:
    """A console password sign-in of an IAM user or the root user, without MFA, from outside,
    then a look around the account."""
    org = context.org
    account = rng.choice(org.accounts)
    origin = attacker_origin(rng, proxy=rng.random() < 0.5)
    browser = rng.choice((*USER_AGENTS, *ATTACKER_AGENTS[1:]))[0]
    console_key = access_key_id(rng)
    if rng.random() < 0.35:
        identity = root_identity(account.id)
        working = root_identity(account.id, console_key, console_login_ms=start)
    else:
        user = account.break_glass_user
        identity = {k: v for k, v in iam_user_identity(user).items() if k != "accessKeyId"}
        working = iam_user_identity(user, console_key, console_login_ms=start)
    records = [
        console_sign_in(
            rng, start, identity, account.id, org.global_region, origin.ip, browser, mfa_used=False
        )
    ]
    target = Target(account, rng.choice(org.regions), org.global_region)
    names = ["GetAccountSummary", "ListUsers", "DescribeInstances", "ListBuckets"]
    times = sorted(start + rng.randint(10 * SECOND, 5 * MINUTE) for _ in names[: rng.randint(2, 4)])
    records.extend(
        call(
            rng,
            APIS[name],
            when,
            working,
            target,
            origin.ip,
            CONSOLE_INTERNAL_AGENT,
            console=True,
        )
        for name, when in zip(names, times, strict=False)
    )
    return records


CROSS_SOURCE_SCENARIOS: tuple[CrossSourceScenario, ...] = (
    CrossSourceScenario(
        Scenario(
            "risky_sign_in_then_aws_persistence",
            3 * MINUTE,
            risky_sign_in_okta,
            "okta_risky_sign_in_then_aws_persistence",
        ),
        risky_sign_in_aws,
    ),
    CrossSourceScenario(
        Scenario(
            "aws_activity_after_okta_suspension",
            11 * MINUTE,
            suspended_user_okta,
            "aws_activity_after_okta_suspension",
        ),
        suspended_user_aws,
    ),
)
CROSS_SOURCE_OKTA_SCENARIOS: tuple[Scenario, ...] = tuple(c.okta for c in CROSS_SOURCE_SCENARIOS)
"""The Okta parts: `SimulatedOrg(seed, scenarios=SCENARIOS + CROSS_SOURCE_OKTA_SCENARIOS)`."""

TRAIL_SCENARIOS: tuple[AwsScenario, ...] = (
    AwsScenario("aws_saml_without_okta_sso", 9 * MINUTE, golden_saml, "aws_saml_without_okta_sso"),
    AwsScenario(
        "aws_console_login_bypassing_okta",
        6 * MINUTE,
        console_login_bypassing_okta,
        "aws_console_login_bypassing_okta",
    ),
)
