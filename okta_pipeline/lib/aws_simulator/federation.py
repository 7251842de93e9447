"""Okta SSO into the AWS app -> an AWS role session: AssumeRoleWithSAML, then console or CLI work.

The session's calls come from the user's IP, within the hour its STS credentials live, and carry
the role session's identity: the issued ASIA key, or (in the console, which mints keys of its
own) another ASIA key with the same creationDate and sessionIssuer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from okta_pipeline.lib.aws_simulator.accounts import (
    ADMIN_ROLE,
    FEDERATED_ROLE_NAMES,
    OKTA_NAME_ID_FORMAT,
    SAML_AUDIENCE,
    Account,
    AwsOrganization,
    Role,
    access_key_id,
)
from okta_pipeline.lib.aws_simulator.apis import APIS, Target, call
from okta_pipeline.lib.aws_simulator.records import (
    Record,
    api_call,
    assumed_role_identity,
    console_sign_in,
    java_date,
    session_token,
)
from okta_pipeline.lib.okta_simulator.directory import AWS_APP_NAME
from okta_pipeline.lib.okta_simulator.events import Event

SessionNameStyle = Literal["login", "local_part"]

SECOND = 1000
MINUTE = 60 * SECOND
SESSION_SECONDS = 3600

BOTO3_AGENT = (
    "Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.7 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.76"
)
TERRAFORM_AGENT = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.10.2 (+https://www.terraform.io) "
    "terraform-provider-aws/5.80.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go-v2/1.32.6 ua/2.1 os/macos lang/go#1.23.3 md/GOOS#darwin md/GOARCH#arm64"
)
# Console pages call their service's read APIs in a burst, often under this agent.
CONSOLE_INTERNAL_AGENT = "AWS Internal"


def cli_agent(command: str) -> str:
    return (
        "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.6 "
        f"md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off "
        f"md/command#{command}"
    )


def session_name(login: str, style: SessionNameStyle) -> str:
    """The role session name Okta's AWS app sets: the Okta username, or its part before '@'."""
    return login.split("@", 1)[0] if style == "local_part" else login


def is_aws_sso(event: Event) -> bool:
    """A successful Okta SSO into the AWS SAML app."""
    if event.get("eventType") != "user.authentication.sso":
        return False
    if (event.get("outcome") or {}).get("result") != "SUCCESS":
        return False
    uri = event["debugContext"]["debugData"].get("requestUri", "")
    return isinstance(uri, str) and uri.startswith(f"/app/{AWS_APP_NAME}/")


@dataclass(frozen=True, eq=False)
class SamlSession:
    """A role session created by AssumeRoleWithSAML."""

    account: Account
    role: Role
    login: str
    name: str
    access_key: str
    created_ms: int
    source_ip: str
    identity: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        identity = self.identity_with_key(self.access_key)
        object.__setattr__(self, "identity", identity)

    def identity_with_key(self, key: str) -> dict[str, Any]:
        return assumed_role_identity(self.role, self.name, key, self.created_ms)

    @property
    def expires_ms(self) -> int:
        return self.created_ms + SESSION_SECONDS * SECOND


def assume_role_with_saml(
    rng: random.Random,
    org: AwsOrganization,
    account: Account,
    role: Role,
    login: str,
    name: str,
    time_ms: int,
    source_ip: str,
    user_agent: str,
    *,
    with_tls: bool,
) -> tuple[SamlSession, Record]:
    """STS's record of a SAML assertion exchanged for role credentials, and the session."""
    key = access_key_id(rng)
    qualifier = account.name_qualifier
    session = SamlSession(account, role, login, name, key, time_ms - time_ms % SECOND, source_ip)
    record = api_call(
        rng,
        time_ms,
        {
            "type": "SAMLUser",
            "principalId": f"{qualifier}:{login}",
            "userName": login,
            "identityProvider": qualifier,
        },
        account.id,
        org.global_region,
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        source_ip,
        user_agent,
        {
            "sAMLAssertionID": f"id{rng.randrange(10**25, 10**26)}",
            "roleSessionName": name,
            "roleArn": role.arn,
            "principalArn": account.saml_provider_arn,
            "durationSeconds": SESSION_SECONDS,
        },
        {
            "credentials": {
                "accessKeyId": key,
                "sessionToken": session_token(rng),
                "expiration": java_date(session.expires_ms),
            },
            "assumedRoleUser": {
                "assumedRoleId": f"{role.role_id}:{name}",
                "arn": role.session_arn(name),
            },
            "subject": login,
            "subjectType": OKTA_NAME_ID_FORMAT,
            "issuer": org.okta_issuer,
            "audience": SAML_AUDIENCE,
            "nameQualifier": qualifier,
        },
        read_only=True,
        resources=[
            {"accountId": account.id, "type": "AWS::IAM::Role", "ARN": role.arn},
            {
                "accountId": account.id,
                "type": "AWS::IAM::SAMLProvider",
                "ARN": account.saml_provider_arn,
            },
        ],
        tls_host="sts.amazonaws.com" if with_tls else None,
    )
    return session, record


def federated_console_login(
    rng: random.Random, org: AwsOrganization, session: SamlSession, time_ms: int, user_agent: str
) -> Record:
    identity = {k: v for k, v in session.identity.items() if k != "accessKeyId"}
    return console_sign_in(
        rng,
        time_ms,
        identity,
        session.account.id,
        org.global_region,
        session.source_ip,
        user_agent,
        # Okta did the MFA; AWS sign-in reports only its own.
        mfa_used=False,
        saml_provider_arn=session.account.saml_provider_arn,
    )


# Console pages: the read calls one page load makes, in one burst.
CONSOLE_PAGES = (
    (
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DescribeTags",
        "DescribeAddresses",
        "DescribeVolumes",
        "DescribeSecurityGroups",
    ),
    (
        "ListBuckets",
        "GetBucketLocation",
        "GetBucketLocation",
        "GetBucketAcl",
        "GetBucketVersioning",
    ),
    ("ListRoles", "ListUsers", "GetAccountSummary", "ListAttachedRolePolicies"),
    ("DescribeAlarms", "GetMetricData", "GetMetricData"),
    ("ListFunctions20150331", "GetFunction20150331v2"),
    ("DescribeStacks", "DescribeStacks"),
    ("GetCostAndUsage", "DescribeEvents"),
)
CONSOLE_WRITES = ("CreateTags", "PutBucketTagging", "UpdateFunctionConfiguration20150331v2")
CLI_READS = (
    "DescribeInstances",
    "ListBuckets",
    "GetCallerIdentity",
    "GetParameter",
    "GetSecretValue",
    "DescribeStacks",
    "DescribeLogGroups",
    "GetFunction20150331v2",
    "ListRoles",
    "DescribeTable",
    "ListSecrets",
)
CLI_WRITES = ("CreateTags", "UpdateFunctionConfiguration20150331v2", "SendCommand", "CreateStack")
TERRAFORM_READS = (
    "DescribeInstances",
    "DescribeSecurityGroups",
    "DescribeNetworkInterfaces",
    "DescribeVolumes",
    "GetRole",
    "ListAttachedRolePolicies",
    "GetBucketAcl",
    "GetBucketPolicy",
    "GetBucketEncryption",
    "GetBucketVersioning",
    "GetFunction20150331v2",
    "DescribeTable",
    "GetCallerIdentity",
)


def _cli_command(api_name: str) -> str:
    api = APIS[api_name]
    service = api.source.split(".", 1)[0]
    operation = re.sub(r"\d{8}(v\d)?$", "", api.name)
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", operation).lower()
    return f"{service}.{kebab}"


_CLI_AGENTS = {name: cli_agent(_cli_command(name)) for name in (*CLI_READS, *CLI_WRITES)}


def _role_weights(is_admin: bool) -> tuple[float, ...]:
    # Order of FEDERATED_ROLE_NAMES: read-only, developer, admin.
    return (0.1, 0.25, 0.65) if is_admin else (0.5, 0.45, 0.05)


def pick_role(rng: random.Random, account: Account, is_admin: bool) -> Role:
    name = rng.choices(FEDERATED_ROLE_NAMES, _role_weights(is_admin))[0]
    return account.federated_roles[name]


@dataclass(frozen=True)
class SsoSignIn:
    """What the trail takes from an Okta SSO into the AWS app."""

    published_ms: int
    login: str
    source_ip: str
    browser_agent: str
    is_admin: bool


def federated_session(
    rng: random.Random, org: AwsOrganization, sso: SsoSignIn, style: SessionNameStyle
) -> list[Record]:
    """The AWS side of an ordinary Okta SSO into the AWS app."""
    account = rng.choice(org.accounts)
    role = pick_role(rng, account, sso.is_admin)
    name = session_name(sso.login, style)
    at = sso.published_ms + rng.randint(1 * SECOND, 4 * SECOND)
    region = rng.choice(org.regions)
    if rng.random() < 0.6:
        session, assumed = assume_role_with_saml(
            rng,
            org,
            account,
            role,
            sso.login,
            name,
            at,
            sso.source_ip,
            sso.browser_agent,
            with_tls=False,
        )
        records = [assumed]
        records.append(
            federated_console_login(
                rng, org, session, at + rng.randint(0, SECOND), sso.browser_agent
            )
        )
        records.extend(console_work(rng, org, session, region, at + 3 * SECOND, sso.browser_agent))
        return records
    session, assumed = assume_role_with_saml(
        rng, org, account, role, sso.login, name, at, sso.source_ip, BOTO3_AGENT, with_tls=True
    )
    return [assumed, *cli_work(rng, org, session, region, at + 2 * SECOND)]


def _failure_for(rng: random.Random, role: Role, read_only: bool) -> str | None:
    if not read_only and role.name == FEDERATED_ROLE_NAMES[0]:
        return "denied"
    return "denied" if rng.random() < 0.01 else None


def console_work(
    rng: random.Random,
    org: AwsOrganization,
    session: SamlSession,
    region: str,
    start_ms: int,
    browser_agent: str,
) -> list[Record]:
    """Console page loads: bursts of reads at one second, some with the console's own keys."""
    keys = [session.access_key, *(access_key_id(rng) for _ in range(rng.randint(1, 3)))]
    identities = [session.identity, *(session.identity_with_key(k) for k in keys[1:])]
    target = Target(session.account, region, org.global_region)
    records: list[Record] = []
    at = start_ms + rng.randint(0, 20 * SECOND)
    for _ in range(rng.randint(2, 12)):
        if at >= session.expires_ms - MINUTE:
            break
        identity = rng.choice(identities)
        agent = CONSOLE_INTERNAL_AGENT if rng.random() < 0.5 else browser_agent
        page = rng.choice(CONSOLE_PAGES)
        names = list(page[: rng.randint(2, len(page))]) if len(page) > 2 else list(page)
        if session.role.name != FEDERATED_ROLE_NAMES[0] and rng.random() < 0.1:
            names.append(rng.choice(CONSOLE_WRITES))
        for index, api_name in enumerate(names):
            api = APIS[api_name]
            when = at + (index // 4) * SECOND
            records.append(
                call(
                    rng,
                    api,
                    when,
                    identity,
                    target,
                    session.source_ip,
                    agent,
                    failure=_failure_for(rng, session.role, api.read_only),
                    console=True,
                )
            )
        at += rng.randint(10 * SECOND, 8 * MINUTE)
    return records


def cli_work(
    rng: random.Random, org: AwsOrganization, session: SamlSession, region: str, start_ms: int
) -> list[Record]:
    """CLI commands with the issued key, now and then a Terraform plan's burst of reads."""
    target = Target(session.account, region, org.global_region)
    may_write = session.role.name != FEDERATED_ROLE_NAMES[0]
    records: list[Record] = []
    at = start_ms + rng.randint(0, 30 * SECOND)
    if rng.random() < 0.15:
        # The CLI refreshing an IAM Identity Center token for the user's other profiles.
        token = APIS["CreateToken"]
        agent = cli_agent("sso.login")
        records.append(call(rng, token, at, session.identity, target, session.source_ip, agent))
        at += rng.randint(2 * SECOND, 20 * SECOND)
    for _ in range(rng.randint(3, 20)):
        if at >= session.expires_ms - MINUTE:
            break
        if may_write and rng.random() < 0.05:
            for index in range(rng.randint(15, 40)):
                api = APIS[rng.choice(TERRAFORM_READS)]
                records.append(
                    call(
                        rng,
                        api,
                        at + (index // 8) * SECOND,
                        session.identity,
                        target,
                        session.source_ip,
                        TERRAFORM_AGENT,
                    )
                )
        else:
            writes = CLI_WRITES if session.role.name == ADMIN_ROLE else CLI_WRITES[:2]
            api_name = rng.choice(writes if may_write and rng.random() < 0.1 else CLI_READS)
            api = APIS[api_name]
            for _page in range(1 if not api.read_only else rng.choice((1, 1, 1, 2, 3))):
                records.append(
                    call(
                        rng,
                        api,
                        at,
                        session.identity,
                        target,
                        session.source_ip,
                        _CLI_AGENTS[api_name],
                        failure=_failure_for(rng, session.role, api.read_only),
                    )
                )
        at += rng.randint(2 * SECOND, 5 * MINUTE)
    return records
