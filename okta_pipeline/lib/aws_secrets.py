"""Credentials kept in AWS Secrets Manager as a JSON object."""

from __future__ import annotations

import json


def secret_pair(secret_id: str, first: str, second: str) -> tuple[str, str]:
    """The `first` and `second` keys of the secret's JSON object. The region and the caller's
    credentials come from the environment (the task role and AWS_REGION on ECS)."""
    import boto3  # only deployments that keep credentials in Secrets Manager need it

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    try:
        values = json.loads(secret["SecretString"])
        return str(values[first]), str(values[second])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"secret {secret_id} must be JSON with {first} and {second}") from None
