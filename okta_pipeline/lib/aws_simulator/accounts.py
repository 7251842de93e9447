"""The simulated AWS organization: accounts, regions, the Okta SAML provider, roles and users.

Everything here is fixed for a seed and computed once; the per-record code only reads it.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
from dataclasses import dataclass, field
from typing import Any

from okta_pipeline.lib.okta_simulator.directory import okta_id

DEFAULT_ACCOUNT_IDS = ("318274590112", "604937215888", "851260734419")
DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
GLOBAL_REGION = "us-east-1"
"""Where CloudTrail records global services (IAM, STS's global endpoint, sign-in)."""

SAML_PROVIDER_NAME = "Okta"
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"
# Okta's AWS app sends the Okta username as a NameID of this format; STS keeps non-SAML-2.0
# formats as they are in subjectType.
OKTA_NAME_ID_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

FEDERATED_ROLE_NAMES = ("OktaReadOnly", "OktaDeveloper", "OktaAdmin")
ADMIN_ROLE = "OktaAdmin"
_ALIASES = ("prod", "staging", "shared-services", "sandbox", "data", "security")

_UPPER_ALNUM = string.ascii_uppercase + string.digits


def unique_id(rng: random.Random, prefix: str) -> str:
    """An IAM unique id: a four-letter type prefix (AROA, AIDA, ...) and 17 characters."""
    return prefix + "".join(rng.choices(_UPPER_ALNUM, k=17))


def access_key_id(rng: random.Random, prefix: str = "ASIA") -> str:
    """ASIA... for temporary credentials, AKIA... for an IAM user's long-lived key."""
    return prefix + "".join(rng.choices(_UPPER_ALNUM, k=16))


@dataclass(frozen=True, eq=False)
class Role:
    account_id: str
    name: str
    role_id: str
    path: str = "/"
    arn: str = field(init=False)
    session_issuer: dict[str, Any] = field(init=False)
    """userIdentity.sessionContext.sessionIssuer of every session of this role."""

    def __post_init__(self) -> None:
        arn = f"arn:aws:iam::{self.account_id}:role{self.path}{self.name}"
        object.__setattr__(self, "arn", arn)
        issuer = {
            "type": "Role",
            "principalId": self.role_id,
            "arn": arn,
            "accountId": self.account_id,
            "userName": self.name,
        }
        object.__setattr__(self, "session_issuer", issuer)

    def session_arn(self, session_name: str) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{session_name}"


@dataclass(frozen=True, eq=False)
class IamUser:
    account_id: str
    name: str
    user_id: str
    access_key_id: str
    """The user's long-lived AKIA key, used by its programmatic calls."""

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.name}"


@dataclass(frozen=True)
class Instance:
    role: Role
    instance_id: str
    public_ip: str
    private_ip: str


@dataclass(frozen=True)
class Function:
    role: Role
    name: str


@dataclass(frozen=True, eq=False)
class Account:
    id: str
    alias: str
    saml_provider_arn: str
    name_qualifier: str
    """STS's hash of (issuer, account, provider name): the SAMLUser's identityProvider."""
    federated_roles: dict[str, Role]
    instances: tuple[Instance, ...]
    functions: tuple[Function, ...]
    service_roles: dict[str, Role]
    """Service-linked roles, by the service principal that assumes them."""
    monitoring_role: Role
    automation_users: tuple[IamUser, ...]
    break_glass_user: IamUser
    """An IAM user with a console password: the way around Okta that detections watch."""
    buckets: tuple[str, ...]
    kms_key_ids: tuple[str, ...]
    trail_arn: str


@dataclass(frozen=True, eq=False)
class AwsOrganization:
    accounts: tuple[Account, ...]
    regions: tuple[str, ...]
    global_region: str
    okta_issuer: str
    """The Okta AWS app's SAML issuer (entity id), http://www.okta.com/exk..."""
    monitoring_account_id: str
    """A vendor's account whose principal assumes each account's monitoring role."""


def name_qualifier(issuer: str, account_id: str, provider_name: str) -> str:
    """BASE64(SHA1(issuer + account + "/" + provider name)), as STS documents it."""
    digest = hashlib.sha1(f"{issuer}{account_id}/{provider_name}".encode()).digest()  # noqa: S324
    return base64.b64encode(digest).decode()


_INSTANCE_ROLES = ("web-app-instance-role", "batch-worker-instance-role", "eks-node-role")
_FUNCTIONS = ("invoice-processor", "log-shipper", "nightly-report", "image-resizer")
_SERVICE_ROLES = {
    "config.amazonaws.com": "AWSServiceRoleForConfig",
    "access-analyzer.amazonaws.com": "AWSServiceRoleForAccessAnalyzer",
    "securityhub.amazonaws.com": "AWSServiceRoleForSecurityHub",
}
_AUTOMATION_USERS = ("terraform-ci", "backup-exporter")


def build_organization(
    seed: int, account_ids: tuple[str, ...], regions: tuple[str, ...]
) -> AwsOrganization:
    """The same accounts, roles, users and resources for the same seed and arguments."""
    if not account_ids or not regions:
        raise ValueError("a simulated trail needs at least one account id and one region")
    for account_id in account_ids:
        if len(account_id) != 12 or not account_id.isdigit():
            raise ValueError(f"AWS account ids are 12 digits, got {account_id!r}")
    rng = random.Random(f"aws-organization:{seed}")
    issuer = f"http://www.okta.com/{okta_id(rng, 'exk')}"
    accounts = tuple(
        _build_account(rng, account_id, _ALIASES[index % len(_ALIASES)], issuer)
        for index, account_id in enumerate(account_ids)
    )
    return AwsOrganization(
        accounts=accounts,
        regions=regions,
        global_region=GLOBAL_REGION if GLOBAL_REGION in regions else regions[0],
        okta_issuer=issuer,
        monitoring_account_id=f"{rng.randrange(10**11, 10**12):012d}",
    )


def _build_account(rng: random.Random, account_id: str, alias: str, issuer: str) -> Account:
    def role(name: str, path: str = "/") -> Role:
        return Role(account_id, name, unique_id(rng, "AROA"), path)

    def user(name: str) -> IamUser:
        return IamUser(account_id, name, unique_id(rng, "AIDA"), access_key_id(rng, "AKIA"))

    instance_roles = [role(name) for name in _INSTANCE_ROLES]
    instances = tuple(
        Instance(
            instance_roles[i % len(instance_roles)],
            f"i-0{rng.getrandbits(64):016x}",
            f"{rng.choice((3, 18, 34, 44, 52, 54))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
            f".{rng.randint(1, 254)}",
            f"10.{rng.randint(0, 31)}.{rng.randint(0, 255)}.{rng.randint(4, 254)}",
        )
        for i in range(8)
    )
    suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
    functions = tuple(Function(role(f"{name}-role-{suffix}"), name) for name in _FUNCTIONS)
    return Account(
        id=account_id,
        alias=f"example-{alias}",
        saml_provider_arn=f"arn:aws:iam::{account_id}:saml-provider/{SAML_PROVIDER_NAME}",
        name_qualifier=name_qualifier(issuer, account_id, SAML_PROVIDER_NAME),
        federated_roles={name: role(name) for name in FEDERATED_ROLE_NAMES},
        instances=instances,
        functions=functions,
        service_roles={
            service: role(name, f"/aws-service-role/{service}/")
            for service, name in _SERVICE_ROLES.items()
        },
        monitoring_role=role("MonitoringIntegrationRole"),
        automation_users=tuple(user(name) for name in _AUTOMATION_USERS),
        break_glass_user=user("break-glass-admin"),
        buckets=tuple(
            f"example-{alias}-{name}-{account_id[-4:]}"
            for name in ("app-assets", "data-lake", "backups", "cloudtrail-logs")
        ),
        kms_key_ids=tuple(
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
            for _ in range(3)
        ),
        trail_arn=f"arn:aws:cloudtrail:{GLOBAL_REGION}:{account_id}:trail/organization-trail",
    )
