"""Hand-built CloudTrail records and trail objects, for tests whose answer is known by
construction (the simulated trail is for realistic volumes)."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"


def record(at: datetime, name: str = "DescribeInstances", **fields: Any) -> dict[str, Any]:
    """A CloudTrail management event at `at` (second precision, as CloudTrail writes it)."""
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:i-0abc",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ec2-app/i-0abc",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE0000001",
        },
        "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        **fields,
    }


def object_key(
    delivered: datetime,
    prefix: str = "",
    organization: str | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
    suffix: str = "a1B2c3D4e5F6g7H8",
) -> str:
    parts = [prefix] if prefix else []
    parts += ["AWSLogs", *([organization] if organization else []), account, "CloudTrail", region]
    stamp = f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%M}Z_{suffix}.json.gz"
    return "/".join([*parts, f"{delivered:%Y/%m/%d}", stamp])


def put_object(s3: Any, bucket: str, key: str, records: list[Any]) -> None:
    body = gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
