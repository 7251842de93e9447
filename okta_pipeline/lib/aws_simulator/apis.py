"""The AWS API calls the simulator knows, with CloudTrail's shapes for their parameters.

CloudTrail records `requestParameters` and `responseElements` as each service serialises them,
so one field name can hold a string in one event and an object or a list in another
(`filter`, `parameters`, S3's `Tag`, a bucket policy's `Principal`), many calls record `null`,
and some values are replaced by `HIDDEN_DUE_TO_SECURITY_REASONS`. The catalog keeps that
variance on purpose: it is what an ingestion pipeline must survive.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from okta_pipeline.lib.aws_simulator.accounts import Account
from okta_pipeline.lib.aws_simulator.records import (
    Record,
    api_call,
    random_uuid,
    s3_request_id,
)

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


@dataclass(frozen=True)
class Target:
    """Where a call lands: the account, the region of regional calls, and where global
    services (IAM, STS's global endpoint, Organizations) record theirs."""

    account: Account
    region: str
    global_region: str


Request = Callable[[random.Random, Target], Any]
Response = Callable[[random.Random, Target, str], Any]


@dataclass(frozen=True)
class Api:
    source: str
    name: str
    read_only: bool
    request: Request
    response: Response | None = None
    version: str = "1.08"
    is_global: bool = False
    host: str = ""
    """The Host header clients send, `{region}` filled in; empty when calls carry no tlsDetails."""
    api_version: str | None = None

    @property
    def action(self) -> str:
        """The IAM action, as error messages name it (ec2:DescribeInstances)."""
        return f"{self.source.split('.', 1)[0]}:{self.name}"


def _none(rng: random.Random, target: Target) -> Any:
    return None


def _filter_set(name: str, value: str) -> dict[str, Any]:
    return {"items": [{"name": name, "valueSet": {"items": [{"value": value}]}}]}


def _instance_id(rng: random.Random, target: Target) -> str:
    return rng.choice(target.account.instances).instance_id


def _bucket(rng: random.Random, target: Target) -> str:
    return rng.choice(target.account.buckets)


def _describe_instances(rng: random.Random, target: Target) -> Any:
    shape = rng.random()
    if shape < 0.4:
        return {"instancesSet": {}, "filterSet": {}}
    if shape < 0.7:
        return {
            "instancesSet": {"items": [{"instanceId": _instance_id(rng, target)}]},
            "filterSet": {},
        }
    return {
        "maxResults": 1000,
        "instancesSet": {},
        "filterSet": _filter_set("instance-state-name", "running"),
    }


def _describe_security_groups(rng: random.Random, target: Target) -> Any:
    return {
        "securityGroupSet": {},
        "securityGroupIdSet": {},
        "filterSet": _filter_set("vpc-id", f"vpc-0{rng.getrandbits(64):016x}"),
    }


def _describe_tags(rng: random.Random, target: Target) -> Any:
    return {"filterSet": _filter_set("resource-id", _instance_id(rng, target))}


def _describe_volumes(rng: random.Random, target: Target) -> Any:
    return {"volumeSet": {}, "filterSet": {}, "maxResults": 500}


def _describe_network_interfaces(rng: random.Random, target: Target) -> Any:
    return {
        "networkInterfaceIdSet": {},
        "filterSet": _filter_set("attachment.instance-id", _instance_id(rng, target)),
    }


_TAG_VALUES = (("Owner", "platform"), ("CostCenter", "cc-4410"), ("Environment", "production"))


def _create_tags(rng: random.Random, target: Target) -> Any:
    key, value = rng.choice(_TAG_VALUES)
    return {
        "resourcesSet": {"items": [{"resourceId": _instance_id(rng, target)}]},
        "tagSet": {"items": [{"key": key, "value": value}]},
    }


def _ec2_return(rng: random.Random, target: Target, request_id: str) -> Any:
    return {"requestId": request_id, "_return": True}


def _s3_bucket_request(subresource: str) -> Request:
    def request(rng: random.Random, target: Target) -> Any:
        bucket = _bucket(rng, target)
        return {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", subresource: ""}

    return request


def _list_buckets(rng: random.Random, target: Target) -> Any:
    return {"Host": "s3.amazonaws.com"}


def _put_bucket_tagging(rng: random.Random, target: Target) -> Any:
    bucket = _bucket(rng, target)
    tags = [
        {"Key": key, "Value": value} for key, value in rng.sample(_TAG_VALUES, rng.randint(1, 3))
    ]
    return {
        "bucketName": bucket,
        "Host": f"{bucket}.s3.amazonaws.com",
        "tagging": "",
        "Tagging": {
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
            # S3 turns XML into JSON element by element: one Tag is an object, several a list.
            "TagSet": {"Tag": tags[0] if len(tags) == 1 else tags},
        },
    }


def _put_trail_bucket_policy(rng: random.Random, target: Target) -> Any:
    bucket = target.account.buckets[-1]
    return {
        "bucketName": bucket,
        "Host": f"{bucket}.s3.amazonaws.com",
        "policy": "",
        "bucketPolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                }
            ],
        },
    }


def _role_name(rng: random.Random, target: Target) -> Any:
    return {"roleName": rng.choice(list(target.account.federated_roles))}


def _authorization_details(rng: random.Random, target: Target) -> Any:
    return {"filter": ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]}


def _list_policies(rng: random.Random, target: Target) -> Any:
    return {"filter": "SERVICE_CONTROL_POLICY"}


def _health_events(rng: random.Random, target: Target) -> Any:
    return {
        "filter": {"eventStatusCodes": ["open", "upcoming"], "regions": [target.region]},
        "maxResults": 10,
    }


def _cost_and_usage(rng: random.Random, target: Target) -> Any:
    return {
        "timePeriod": {"start": "2026-11-01", "end": "2026-12-01"},
        "granularity": "MONTHLY",
        "metrics": ["UnblendedCost"],
        "groupBy": [{"type": "DIMENSION", "key": "SERVICE"}],
        "filter": {"dimensions": {"key": "LINKED_ACCOUNT", "values": [target.account.id]}},
    }


def _key_arn(rng: random.Random, target: Target) -> str:
    key = rng.choice(target.account.kms_key_ids)
    return f"arn:aws:kms:{target.region}:{target.account.id}:key/{key}"


def _decrypt(rng: random.Random, target: Target) -> Any:
    function = rng.choice(target.account.functions).name
    return {
        "encryptionContext": {
            "aws:lambda:FunctionArn": (
                f"arn:aws:lambda:{target.region}:{target.account.id}:function:{function}"
            )
        },
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }


def _generate_data_key(rng: random.Random, target: Target) -> Any:
    return {"keyId": _key_arn(rng, target), "keySpec": "AES_256"}


def _get_parameter(rng: random.Random, target: Target) -> Any:
    name = rng.choice(("/app/db/host", "/app/db/password", "/app/feature-flags", "/ci/registry"))
    return {"name": name, "withDecryption": name.endswith("password")}


def _update_instance_information(rng: random.Random, target: Target) -> Any:
    instance = rng.choice(target.account.instances)
    return {
        "instanceId": instance.instance_id,
        "agentVersion": "3.3.1142.0",
        "agentStatus": "Active",
        "platformType": "Linux",
        "platformName": "Amazon Linux",
        "platformVersion": "2023",
        "iPAddress": instance.private_ip,
        "computerName": f"ip-{instance.private_ip.replace('.', '-')}.ec2.internal",
        "agentName": "amazon-ssm-agent",
        "availabilityZone": f"{target.region}a",
    }


def _send_command(rng: random.Random, target: Target) -> Any:
    return {
        "instanceIds": [_instance_id(rng, target)],
        "documentName": "AWS-RunShellScript",
        "parameters": HIDDEN,
        "interactive": False,
    }


def _send_command_response(rng: random.Random, target: Target, request_id: str) -> Any:
    return {
        "command": {
            "commandId": random_uuid(rng),
            "documentName": "AWS-RunShellScript",
            "parameters": HIDDEN,
            "status": "Pending",
            "targetCount": 1,
        }
    }


def _create_stack(rng: random.Random, target: Target) -> Any:
    return {
        "stackName": f"app-{rng.choice(('network', 'queues', 'alarms'))}",
        "templateURL": f"https://{target.account.buckets[0]}.s3.amazonaws.com/templates/app.yaml",
        "parameters": [{"parameterKey": "Environment", "parameterValue": "production"}],
        "capabilities": ["CAPABILITY_NAMED_IAM"],
    }


def _create_stack_response(rng: random.Random, target: Target, request_id: str) -> Any:
    return {
        "stackId": (
            f"arn:aws:cloudformation:{target.region}:{target.account.id}:stack/app/{random_uuid(rng)}"
        )
    }


def _log_stream(rng: random.Random, target: Target) -> Any:
    function = rng.choice(target.account.functions).name
    return {
        "logGroupName": f"/aws/lambda/{function}",
        "logStreamName": f"2026/12/01/[$LATEST]{rng.getrandbits(128):032x}",
    }


def _secret(rng: random.Random, target: Target) -> Any:
    return {"secretId": rng.choice(("prod/app/db", "prod/stripe/api-key", "ci/github-token"))}


def _list_secrets(rng: random.Random, target: Target) -> Any:
    return {"maxResults": 100, "filters": [{"key": "name", "values": ["prod/"]}]}


def _function(rng: random.Random, target: Target) -> Any:
    return {"functionName": rng.choice(target.account.functions).name}


def _update_function(rng: random.Random, target: Target) -> Any:
    return {"functionName": rng.choice(target.account.functions).name, "timeout": 30}


def _update_function_response(rng: random.Random, target: Target, request_id: str) -> Any:
    function = rng.choice(target.account.functions)
    return {
        "functionName": function.name,
        "functionArn": (
            f"arn:aws:lambda:{target.region}:{target.account.id}:function:{function.name}"
        ),
        "runtime": "python3.12",
        "role": function.role.arn,
        "handler": "app.handler",
        "timeout": 30,
        "memorySize": 512,
        "version": "$LATEST",
        "state": "Active",
        "lastUpdateStatus": "InProgress",
    }


def _table(rng: random.Random, target: Target) -> Any:
    return {"tableName": rng.choice(("orders", "sessions", "feature-flags"))}


def _metric_data(rng: random.Random, target: Target) -> Any:
    return {
        "metricDataQueries": [
            {
                "id": "m1",
                "metricStat": {
                    "metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization"},
                    "period": 300,
                    "stat": "Average",
                },
            }
        ],
        "startTime": "Dec 1, 2026, 12:00:00 PM",
        "endTime": "Dec 1, 2026, 1:00:00 PM",
    }


def _get_resources(rng: random.Random, target: Target) -> Any:
    return {"resourcesPerPage": 100, "resourceTypeFilters": ["ec2:instance", "s3"]}


def _sso_token_response(rng: random.Random, target: Target, request_id: str) -> Any:
    # Some responses CloudTrail redacts whole: responseElements is then a bare string.
    return HIDDEN


def _create_token(rng: random.Random, target: Target) -> Any:
    return {"clientId": HIDDEN, "clientSecret": HIDDEN, "grantType": "refresh_token"}


def _api(
    service: str,
    name: str,
    request: Request = _none,
    response: Response | None = None,
    *,
    write: bool = False,
    version: str = "1.08",
    is_global: bool = False,
    host: str | None = None,
) -> Api:
    """An API of `<service>.amazonaws.com`; global services answer on us-east-1's endpoint."""
    if host is None:
        region = "us-east-1" if is_global else "{region}"
        host = f"{service}.{region}.amazonaws.com"
    source = f"{service}.amazonaws.com"
    return Api(source, name, not write, request, response, version, is_global, host)


def _describe_instance_status(rng: random.Random, target: Target) -> Any:
    return {"instancesSet": {}, "filterSet": {}, "includeAllInstances": False}


def _describe_addresses(rng: random.Random, target: Target) -> Any:
    return {"publicIpsSet": {}, "allocationIdsSet": {}, "filterSet": {}}


def _describe_regions(rng: random.Random, target: Target) -> Any:
    return {"regionSet": {}, "allRegions": False}


def _stop_logging(rng: random.Random, target: Target) -> Any:
    return {"name": target.account.trail_arn}


def _user_name(rng: random.Random, target: Target) -> Any:
    return {"userName": rng.choice(target.account.automation_users).name}


def _s3(name: str, request: Request, write: bool = False) -> Api:
    return _api("s3", name, request, write=write, version="1.09", host="s3.amazonaws.com")


def _iam(name: str, request: Request = _none, write: bool = False) -> Api:
    return _api("iam", name, request, write=write, is_global=True, host="iam.amazonaws.com")


_APIS = (
    _api("ec2", "DescribeInstances", _describe_instances, version="1.09"),
    _api("ec2", "DescribeInstanceStatus", _describe_instance_status, version="1.09"),
    _api("ec2", "DescribeSecurityGroups", _describe_security_groups, version="1.09"),
    _api("ec2", "DescribeTags", _describe_tags, version="1.09"),
    _api("ec2", "DescribeVolumes", _describe_volumes, version="1.09"),
    _api("ec2", "DescribeNetworkInterfaces", _describe_network_interfaces, version="1.09"),
    _api("ec2", "DescribeAddresses", _describe_addresses, version="1.09"),
    _api("ec2", "DescribeRegions", _describe_regions, version="1.09"),
    _api("ec2", "CreateTags", _create_tags, _ec2_return, write=True, version="1.09"),
    _s3("ListBuckets", _list_buckets),
    _s3("GetBucketAcl", _s3_bucket_request("acl")),
    _s3("GetBucketPolicy", _s3_bucket_request("policy")),
    _s3("GetBucketEncryption", _s3_bucket_request("encryption")),
    _s3("GetBucketVersioning", _s3_bucket_request("versioning")),
    _s3("GetBucketLocation", _s3_bucket_request("location")),
    _s3("PutBucketTagging", _put_bucket_tagging, write=True),
    _s3("PutBucketPolicy", _put_trail_bucket_policy, write=True),
    _iam("ListRoles"),
    _iam("ListUsers"),
    _iam("GetRole", _role_name),
    _iam("ListAttachedRolePolicies", _role_name),
    _iam("GetAccountSummary"),
    _iam("GetAccountAuthorizationDetails", _authorization_details),
    # IAM writes: callers pass the request and response of the user they act on.
    _iam("CreateUser", _user_name, write=True),
    _iam("CreateAccessKey", _user_name, write=True),
    _iam("AttachUserPolicy", _user_name, write=True),
    _iam("CreateLoginProfile", _user_name, write=True),
    _api("sts", "GetCallerIdentity"),
    _api("organizations", "ListPolicies", _list_policies, is_global=True),
    _api("health", "DescribeEvents", _health_events, is_global=True),
    _api("ce", "GetCostAndUsage", _cost_and_usage, is_global=True),
    _api("cloudtrail", "StopLogging", _stop_logging, write=True, is_global=True),
    _api("kms", "Decrypt", _decrypt),
    _api("kms", "GenerateDataKey", _generate_data_key),
    _api("ssm", "GetParameter", _get_parameter),
    _api("ssm", "UpdateInstanceInformation", _update_instance_information, write=True),
    _api("ssm", "SendCommand", _send_command, _send_command_response, write=True),
    _api("cloudformation", "DescribeStacks"),
    _api("cloudformation", "CreateStack", _create_stack, _create_stack_response, write=True),
    _api("logs", "CreateLogStream", _log_stream, write=True),
    _api("logs", "DescribeLogGroups", lambda rng, target: {"limit": 50}),
    _api("secretsmanager", "GetSecretValue", _secret),
    _api("secretsmanager", "ListSecrets", _list_secrets),
    _api("lambda", "ListFunctions20150331", version="1.09"),
    _api("lambda", "GetFunction20150331v2", _function, version="1.09"),
    _api(
        "lambda",
        "UpdateFunctionConfiguration20150331v2",
        _update_function,
        _update_function_response,
        write=True,
        version="1.09",
    ),
    _api("dynamodb", "DescribeTable", _table),
    _api("monitoring", "GetMetricData", _metric_data),
    _api("monitoring", "DescribeAlarms", lambda rng, target: {"maxRecords": 100}),
    _api("tagging", "GetResources", _get_resources),
    _api("ecr", "GetAuthorizationToken", host="api.ecr.{region}.amazonaws.com"),
    _api(
        "sso-oauth",
        "CreateToken",
        _create_token,
        _sso_token_response,
        write=True,
        is_global=True,
        host="oidc.us-east-1.amazonaws.com",
    ),
)
APIS: dict[str, Api] = {api.name: api for api in _APIS}


def _access_denied(api: Api, arn: str) -> tuple[str, str]:
    if api.source == "ec2.amazonaws.com":
        return (
            "Client.UnauthorizedOperation",
            f"You are not authorized to perform this operation. User: {arn} is not authorized "
            f"to perform: {api.action} because no identity-based policy allows the "
            f"{api.action} action",
        )
    if api.source == "s3.amazonaws.com":
        return ("AccessDenied", "Access Denied")
    return (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: {api.action} because no identity-based "
        f"policy allows the {api.action} action",
    )


def _throttled(api: Api) -> tuple[str, str]:
    if api.source == "ec2.amazonaws.com":
        return ("Client.RequestLimitExceeded", "Request limit exceeded.")
    if api.source == "s3.amazonaws.com":
        return ("SlowDown", "Please reduce your request rate.")
    return ("ThrottlingException", "Rate exceeded")


def _s3_extras(rng: random.Random, target: Target, request: Any) -> tuple[Any, Any]:
    additional = {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": 0,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": f"{rng.getrandbits(256):064x}",
        "bytesTransferredOut": rng.randint(0, 2048),
    }
    resources = None
    if isinstance(request, dict) and "bucketName" in request:
        resources = [
            {
                "accountId": target.account.id,
                "type": "AWS::S3::Bucket",
                "ARN": f"arn:aws:s3:::{request['bucketName']}",
            }
        ]
    return additional, resources


def _host(api: Api, region: str, request: Any) -> str | None:
    if isinstance(request, dict) and "Host" in request:
        return str(request["Host"])
    return api.host.format(region=region) if api.host else None


def call(
    rng: random.Random,
    api: Api,
    time_ms: int,
    identity: dict[str, Any],
    target: Target,
    source_ip: str,
    user_agent: str,
    *,
    failure: str | None = None,
    error: tuple[str, str] | None = None,
    console: bool = False,
    with_tls: bool = True,
    request: Any = ...,
    response: Any = ...,
) -> Record:
    """A record of `api` called by `identity`. `failure` ("denied", "throttled") picks the
    service's own error code and message; `error` gives them outright."""
    region = target.global_region if api.is_global else target.region
    if request is ...:
        request = api.request(rng, target)
    if failure == "denied":
        error = _access_denied(api, identity.get("arn", ""))
    elif failure == "throttled":
        error = _throttled(api)
    if api.source == "s3.amazonaws.com":
        request_id = s3_request_id(rng)
        additional, resources = _s3_extras(rng, target, request)
    else:
        request_id, additional, resources = random_uuid(rng), None, None
    if response is ...:
        response = api.response(rng, target, request_id) if api.response and not error else None
    return api_call(
        rng,
        time_ms,
        identity,
        target.account.id,
        region,
        api.source,
        api.name,
        source_ip,
        user_agent,
        request,
        response,
        read_only=api.read_only,
        version=api.version,
        error=error,
        additional=additional,
        resources=resources,
        request_id=request_id,
        tls_host=_host(api, region, request) if with_tls else None,
        console=console,
    )
