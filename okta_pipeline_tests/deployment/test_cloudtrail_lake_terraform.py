"""The CloudTrail Lake sink's AWS side in terraform/: off by default, the channel ARN checked,
and the run role allowed PutAuditEvents on that channel alone."""

from __future__ import annotations

import json
import re

from okta_pipeline.lib.sinks.cloudtrail_lake import CHANNEL_ARN
from okta_pipeline_tests.deployment.hcl import load_terraform


def test_the_run_role_may_put_audit_events_on_the_channel_alone_and_only_when_set() -> None:
    terraform = load_terraform()
    assert terraform.variables["cloudtrail_lake_channel_arn"]["default"] == ""
    policy = terraform.resource("aws_iam_role_policy", "cloudtrail_lake_put")
    assert policy["count"] == "${local.cloudtrail_lake_enabled ? 1 : 0}"
    assert policy["role"] == "${aws_iam_role.run.id}"
    (statement,) = terraform.data_source("aws_iam_policy_document", "cloudtrail_lake_put")[
        "statement"
    ]
    assert statement["actions"] == ["cloudtrail-data:PutAuditEvents"]
    assert statement["resources"] == ["${var.cloudtrail_lake_channel_arn}"]
    environment = terraform.locals["pipeline_environment"]
    assert (
        environment["OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN"]
        == "${var.cloudtrail_lake_channel_arn}"
    )


def test_terraform_and_the_pipeline_accept_the_same_channel_arns() -> None:
    validation = load_terraform().variables["cloudtrail_lake_channel_arn"]["validation"]
    validation = validation[0] if isinstance(validation, list) else validation
    pattern = re.search(r'regex\("(.+?)", var', validation["condition"])
    assert pattern is not None
    regex = json.loads(f'"{pattern.group(1)}"')
    for arn in (
        "arn:aws:cloudtrail:us-east-1:123456789012:channel/okta-pipeline",
        "arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:channel/a_b-1",
        "arn:aws:cloudtrail:us-east-1:1234:channel/x",
        "arn:aws:s3:::bucket",
        "channel/okta",
    ):
        assert bool(re.match(regex, arn)) == bool(CHANNEL_ARN.match(arn)), arn
