"""Ordinary AWS activity that no person starts: workloads, AWS services, automation, vendors.

Each activity is one principal making a burst of calls, several to a second, as SDKs, AWS
Config sweeps and Terraform runs do. Role principals renew their credentials every hour: the
service's `AssumeRole` issues the ASIA key their next hour of calls carries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

from okta_pipeline.lib.aws_simulator.accounts import (
    Account,
    AwsOrganization,
    IamUser,
    Role,
    access_key_id,
)
from okta_pipeline.lib.aws_simulator.apis import APIS, Api, Target, call
from okta_pipeline.lib.aws_simulator.federation import TERRAFORM_READS
from okta_pipeline.lib.aws_simulator.records import (
    Record,
    api_call,
    assumed_role_identity,
    aws_service_identity,
    console_sign_in,
    event_time,
    iam_user_identity,
    java_date,
    random_uuid,
    session_token,
)

SECOND = 1000
MINUTE = 60 * SECOND
HOUR_SECONDS = 3600

_PYTHON_SDK = (
    "Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/linux#6.1.115-126.197.amzn2023.x86_64 "
    "md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.76"
)
_GO_SDK = (
    "aws-sdk-go-v2/1.32.6 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 "
    "api/ec2#1.193.0"
)
_SSM_AGENT = "aws-sdk-go/1.44.260 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.1142.0"
_LAMBDA_SDK = (
    "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
    "cfg/retry-mode#legacy Botocore/1.34.145"
)
_VENDOR_SDK = "aws-sdk-go/1.55.5 (go1.22.8; linux; amd64)"
_CI_TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.10.2 (+https://www.terraform.io) "
    "terraform-provider-aws/5.80.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go-v2/1.32.6 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64"
)
# Addresses outside AWS for automation and a monitoring vendor; made up.
_CI_RUNNER_PREFIXES = ("20.42.11", "4.227.96", "52.234.40")
_BACKUP_PREFIX = "198.51.44"
_VENDOR_PREFIX = "44.212.76"
_AWS_PREFIXES = ("3.93", "54.160", "18.207")


@dataclass(frozen=True, eq=False)
class Workload:
    """A principal that makes ordinary calls."""

    key: str
    account: Account
    apis: tuple[Api, ...]
    burst: tuple[int, int]
    per_second: tuple[int, int]
    agents: tuple[str, ...]
    source_ips: tuple[str, ...]
    with_tls: bool
    denied_rate: float
    throttled_rate: float
    share: float
    """Its part of the ordinary records, before dividing by its mean burst."""
    region: str | None = None
    """Its only region; None for principals that work in every region."""
    role: Role | None = None
    session_name: str = ""
    renewed_by: str = ""
    """The service principal (or vendor account) whose AssumeRole renews the role's session
    every hour."""
    invoked_by: str | None = None
    """userIdentity.invokedBy of the calls a service makes with its service-linked role."""
    user: IamUser | None = None
    static_identity: dict[str, Any] | None = None


def _apis(*names: str) -> tuple[Api, ...]:
    return tuple(APIS[name] for name in names)


_INSTANCE_APIS = _apis(
    "UpdateInstanceInformation",
    "GetParameter",
    "Decrypt",
    "GenerateDataKey",
    "GetSecretValue",
    "DescribeTags",
    "GetAuthorizationToken",
    "GetCallerIdentity",
)
_FUNCTION_APIS = _apis(
    "Decrypt",
    "GetParameter",
    "GetSecretValue",
    "DescribeTable",
    "GenerateDataKey",
    "GetCallerIdentity",
)
_CONFIG_APIS = _apis(
    "DescribeInstances",
    "DescribeSecurityGroups",
    "DescribeVolumes",
    "DescribeNetworkInterfaces",
    "DescribeAddresses",
    "GetBucketAcl",
    "GetBucketPolicy",
    "GetBucketEncryption",
    "GetBucketVersioning",
    "GetRole",
    "ListAttachedRolePolicies",
    "GetAccountAuthorizationDetails",
    "DescribeTable",
    "GetFunction20150331v2",
    "DescribeAlarms",
    "ListSecrets",
)
_ANALYZER_APIS = _apis("GetBucketPolicy", "GetBucketAcl", "GetRole", "ListRoles", "ListSecrets")
_SECURITY_HUB_APIS = _apis(
    "DescribeSecurityGroups",
    "GetBucketEncryption",
    "ListUsers",
    "GetAccountSummary",
    "DescribeInstances",
    "ListPolicies",
)
_VENDOR_APIS = _apis(
    "GetMetricData",
    "GetMetricData",
    "DescribeAlarms",
    "DescribeInstances",
    "GetResources",
    "ListFunctions20150331",
    "DescribeTable",
    "DescribeEvents",
    "ListBuckets",
    "GetCostAndUsage",
)
_CI_APIS = _apis(
    *TERRAFORM_READS,
    *TERRAFORM_READS,
    "CreateTags",
    "PutBucketTagging",
    "UpdateFunctionConfiguration20150331v2",
    "PutBucketPolicy",
    "CreateStack",
)
_BACKUP_APIS = _apis("ListBuckets", "GetBucketLocation", "DescribeVolumes", "DescribeInstances")


def _ips(rng: random.Random, prefixes: tuple[str, ...], count: int) -> tuple[str, ...]:
    def one(prefix: str) -> str:
        parts = prefix.count(".")
        tail = ".".join(str(rng.randint(1, 254)) for _ in range(3 - parts))
        return f"{prefix}.{tail}"

    return tuple(one(rng.choice(prefixes)) for _ in range(count))


def build_workloads(seed: int, org: AwsOrganization) -> tuple[Workload, ...]:
    """Every account's principals of ordinary activity, fixed for the seed."""
    rng = random.Random(f"aws-workloads:{seed}")
    workloads: list[Workload] = []
    for account in org.accounts:
        for index, instance in enumerate(account.instances):
            workloads.append(
                Workload(
                    f"{account.id}:{instance.instance_id}",
                    account,
                    _INSTANCE_APIS,
                    (1, 3),
                    (1, 3),
                    (_PYTHON_SDK, _GO_SDK, _SSM_AGENT),
                    (instance.public_ip,),
                    True,
                    0.005,
                    0.003,
                    0.22 / len(account.instances),
                    region=org.regions[index % len(org.regions)],
                    role=instance.role,
                    session_name=instance.instance_id,
                    renewed_by="ec2.amazonaws.com",
                )
            )
        for index, function in enumerate(account.functions):
            workloads.append(
                Workload(
                    f"{account.id}:{function.name}",
                    account,
                    _FUNCTION_APIS,
                    (1, 4),
                    (2, 4),
                    (_LAMBDA_SDK,),
                    _ips(rng, _AWS_PREFIXES, 6),
                    True,
                    0.005,
                    0.005,
                    0.12 / len(account.functions),
                    region=org.regions[index % len(org.regions)],
                    role=function.role,
                    session_name=function.name,
                    renewed_by="lambda.amazonaws.com",
                )
            )
        for service, apis, share, burst in (
            ("config.amazonaws.com", _CONFIG_APIS, 0.2, (5, 30)),
            ("access-analyzer.amazonaws.com", _ANALYZER_APIS, 0.04, (3, 12)),
            ("securityhub.amazonaws.com", _SECURITY_HUB_APIS, 0.05, (3, 10)),
        ):
            role = account.service_roles[service]
            session = {
                "config.amazonaws.com": "AWSConfig-Describe",
                "access-analyzer.amazonaws.com": "access-analyzer",
                "securityhub.amazonaws.com": "securityhub",
            }[service]
            workloads.append(
                Workload(
                    f"{account.id}:{service}",
                    account,
                    apis,
                    burst,
                    (4, 12),
                    (service,),
                    (service,),
                    False,
                    0.01,
                    0.02,
                    share,
                    role=role,
                    session_name=session,
                    renewed_by=service,
                    invoked_by=service,
                )
            )
        workloads.append(
            Workload(
                f"{account.id}:monitoring",
                account,
                _VENDOR_APIS,
                (5, 20),
                (5, 10),
                (_VENDOR_SDK,),
                _ips(rng, (_VENDOR_PREFIX,), 8),
                True,
                0.03,
                0.02,
                0.15,
                role=account.monitoring_role,
                session_name=f"monitoring-{rng.getrandbits(64):016x}",
                renewed_by=org.monitoring_account_id,
            )
        )
        ci, backup = account.automation_users
        workloads.append(
            Workload(
                f"{account.id}:{ci.name}",
                account,
                _CI_APIS,
                (10, 60),
                (5, 12),
                (_CI_TERRAFORM,),
                _ips(rng, _CI_RUNNER_PREFIXES, 12),
                True,
                0.005,
                0.01,
                0.12,
                user=ci,
                static_identity=iam_user_identity(ci),
            )
        )
        workloads.append(
            Workload(
                f"{account.id}:{backup.name}",
                account,
                _BACKUP_APIS,
                (1, 5),
                (1, 3),
                (_PYTHON_SDK,),
                _ips(rng, (_BACKUP_PREFIX,), 2),
                True,
                0.005,
                0.0,
                0.03,
                user=backup,
                static_identity=iam_user_identity(backup),
            )
        )
    return tuple(workloads)


class ServiceActivity:
    """Generates a minute of ordinary records; the same (seed, minute) gives the same records."""

    def __init__(self, seed: int, org: AwsOrganization) -> None:
        self.seed = seed
        self.org = org
        self.workloads = build_workloads(seed, org)
        weights = [w.share / (sum(w.burst) / 2) for w in self.workloads]
        self._cumulative = list(accumulate(weights))
        offsets = random.Random(f"aws-renewals:{seed}")
        self._renewal_second = {w.key: offsets.randrange(HOUR_SECONDS) for w in self.workloads}
        self._credentials = lru_cache(maxsize=4096)(self._credential)

    def minute(self, rng: random.Random, minute: int, calls: int) -> list[Record]:
        """About `calls` ordinary calls in the minute, plus the renewals and service events due."""
        records = self._renewals(minute)
        records.extend(self._cloudtrail_kms(rng, minute))
        records.extend(self._rare_events(rng, minute))
        start_s, last_s = minute * 60, minute * 60 + 59
        made = 0
        while made < calls:
            workload = rng.choices(self.workloads, cum_weights=self._cumulative)[0]
            made += self._burst(rng, workload, rng.randint(start_s, last_s), last_s, records)
        return records

    def _burst(
        self, rng: random.Random, workload: Workload, start_s: int, last_s: int, out: list[Record]
    ) -> int:
        size = rng.randint(*workload.burst)
        per_second = rng.randint(*workload.per_second)
        region = workload.region or rng.choice(self.org.regions)
        target = Target(workload.account, region, self.org.global_region)
        identity = self._identity(workload, start_s)
        source_ip = rng.choice(workload.source_ips)
        agent = rng.choice(workload.agents)
        throttle_rate = workload.throttled_rate * (1 + size / 10)
        for index in range(size):
            second = min(start_s + index // per_second, last_s)
            api = rng.choice(workload.apis)
            roll = rng.random()
            failure = None
            error = None
            if roll < throttle_rate:
                failure = "throttled"
            elif roll < throttle_rate + workload.denied_rate:
                failure = "denied"
            elif api.name == "GetBucketPolicy" and roll < 0.5:
                error = ("NoSuchBucketPolicy", "The bucket policy does not exist")
            out.append(
                call(
                    rng,
                    api,
                    second * SECOND,
                    identity,
                    target,
                    source_ip,
                    agent,
                    failure=failure,
                    error=error,
                    with_tls=workload.with_tls,
                )
            )
        return size

    def _identity(self, workload: Workload, second: int) -> dict[str, Any]:
        if workload.static_identity is not None:
            return workload.static_identity
        period = (second - self._renewal_second[workload.key]) // HOUR_SECONDS
        return self._credentials(workload, period)[1]

    def _credential(self, workload: Workload, period: int) -> tuple[str, dict[str, Any]]:
        """The ASIA key of one hour of a role workload's session, and its identity."""
        assert workload.role is not None
        rng = random.Random(f"aws-credential:{self.seed}:{workload.key}:{period}")
        key = access_key_id(rng)
        created_ms = (period * HOUR_SECONDS + self._renewal_second[workload.key]) * SECOND
        identity = assumed_role_identity(
            workload.role,
            workload.session_name,
            key,
            created_ms,
            invoked_by=workload.invoked_by,
            ec2_role_delivery=workload.renewed_by == "ec2.amazonaws.com",
        )
        return key, identity

    def _renewals(self, minute: int) -> list[Record]:
        records = []
        for workload in self.workloads:
            if workload.role is None:
                continue
            offset = self._renewal_second[workload.key]
            second = minute * 60 + (offset - minute * 60) % HOUR_SECONDS
            if second < (minute + 1) * 60:
                period = (second - offset) // HOUR_SECONDS
                records.append(self._renewal(workload, second, period))
        return records

    def _renewal(self, workload: Workload, second: int, period: int) -> Record:
        assert workload.role is not None
        rng = random.Random(f"aws-renewal:{self.seed}:{workload.key}:{period}")
        key, _ = self._credentials(workload, period)
        role, name = workload.role, workload.session_name
        region = workload.region or self.org.global_region
        if workload.renewed_by.isdigit():
            # A vendor's own account assumes the role across accounts.
            identity: dict[str, Any] = {
                "type": "AWSAccount",
                "principalId": f"AIDA{role.role_id[4:]}",
                "accountId": workload.renewed_by,
            }
            source_ip, agent = workload.source_ips[0], _VENDOR_SDK
        else:
            identity = aws_service_identity(workload.renewed_by)
            source_ip = agent = workload.renewed_by
        return api_call(
            rng,
            second * SECOND,
            identity,
            workload.account.id,
            region,
            "sts.amazonaws.com",
            "AssumeRole",
            source_ip,
            agent,
            {"roleArn": role.arn, "roleSessionName": name},
            {
                "credentials": {
                    "accessKeyId": key,
                    "sessionToken": session_token(rng),
                    "expiration": java_date((second + HOUR_SECONDS) * SECOND),
                },
                "assumedRoleUser": {
                    "assumedRoleId": f"{role.role_id}:{name}",
                    "arn": role.session_arn(name),
                },
            },
            read_only=True,
            resources=[{"accountId": role.account_id, "type": "AWS::IAM::Role", "ARN": role.arn}],
            shared_event_id=random_uuid(rng),
        )

    def _cloudtrail_kms(self, rng: random.Random, minute: int) -> list[Record]:
        """CloudTrail asks KMS for a data key for the log files it writes: an AWSService call."""
        records = []
        for account in self.org.accounts:
            if rng.random() < 0.5:
                continue
            region = rng.choice(self.org.regions)
            target = Target(account, region, self.org.global_region)
            key = account.kms_key_ids[0]
            bucket = account.buckets[-1]
            records.append(
                call(
                    rng,
                    APIS["GenerateDataKey"],
                    (minute * 60 + rng.randint(0, 59)) * SECOND,
                    aws_service_identity("cloudtrail.amazonaws.com"),
                    target,
                    "cloudtrail.amazonaws.com",
                    "cloudtrail.amazonaws.com",
                    with_tls=False,
                    request={
                        "keyId": f"arn:aws:kms:{region}:{account.id}:key/{key}",
                        "encryptionContext": {
                            "aws:cloudtrail:arn": account.trail_arn,
                            "aws:s3:arn": f"arn:aws:s3:::{bucket}/AWSLogs/{account.id}/CloudTrail/",
                        },
                        "keySpec": "AES_256",
                    },
                )
            )
        return records

    def _rare_events(self, rng: random.Random, minute: int) -> list[Record]:
        """A KMS key rotation (a service event, userIdentity without a type) and, now and then,
        a mistyped console password of a break-glass user."""
        records: list[Record] = []
        if rng.random() < 0.01:
            account = rng.choice(self.org.accounts)
            region = rng.choice(self.org.regions)
            key = rng.choice(account.kms_key_ids)
            records.append(
                {
                    "eventVersion": "1.08",
                    "userIdentity": {"accountId": account.id, "invokedBy": "AWS Internal"},
                    "eventTime": event_time(minute * 60 + rng.randint(0, 59)),
                    "eventSource": "kms.amazonaws.com",
                    "eventName": "RotateKey",
                    "awsRegion": region,
                    "sourceIPAddress": "AWS Internal",
                    "userAgent": "AWS Internal",
                    "requestParameters": None,
                    "responseElements": None,
                    "eventID": random_uuid(rng),
                    "readOnly": False,
                    "resources": [
                        {
                            "accountId": account.id,
                            "type": "AWS::KMS::Key",
                            "ARN": f"arn:aws:kms:{region}:{account.id}:key/{key}",
                        }
                    ],
                    "eventType": "AwsServiceEvent",
                    "managementEvent": True,
                    "recipientAccountId": account.id,
                    "serviceEventDetails": {"keyId": key},
                    "eventCategory": "Management",
                }
            )
        if rng.random() < 0.002:
            account = rng.choice(self.org.accounts)
            user = account.break_glass_user
            records.append(
                console_sign_in(
                    rng,
                    (minute * 60 + rng.randint(0, 59)) * SECOND,
                    {
                        "type": "IAMUser",
                        "principalId": user.user_id,
                        "accountId": account.id,
                        "accessKeyId": "",
                        "userName": user.name,
                    },
                    account.id,
                    self.org.global_region,
                    _ips(rng, (_BACKUP_PREFIX,), 1)[0],
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                    mfa_used=False,
                    failure="Failed authentication",
                )
            )
        return records
