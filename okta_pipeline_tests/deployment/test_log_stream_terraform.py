"""The log stream's AWS side in terraform/: a rule on Okta's partner bus to an encrypted queue
only that rule may send to, a dead-letter queue, and the least SQS access for each role."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from okta_pipeline_tests.deployment.hcl import TerraformConfig, load_terraform


@pytest.fixture(scope="module")
def terraform() -> TerraformConfig:
    return load_terraform()


def statements(terraform: TerraformConfig, name: str) -> list[dict[str, Any]]:
    found = terraform.data_source("aws_iam_policy_document", name)["statement"]
    return list(found if isinstance(found, list) else [found])


def one_or_many(block: Any) -> list[dict[str, Any]]:
    return list(block if isinstance(block, list) else [block])


def test_off_by_default_and_every_piece_follows_the_variable(terraform: TerraformConfig) -> None:
    assert terraform.variables["okta_log_stream_event_source"]["default"] == ""
    count = "${local.log_stream_enabled ? 1 : 0}"
    for type_, name in [
        ("aws_cloudwatch_event_bus", "okta"),
        ("aws_cloudwatch_event_rule", "okta_system_log"),
        ("aws_cloudwatch_event_target", "okta_system_log"),
        ("aws_sqs_queue", "log_stream"),
        ("aws_sqs_queue", "log_stream_dead_letters"),
        ("aws_sqs_queue_policy", "log_stream"),
        ("aws_iam_role_policy", "log_stream_drain"),
        ("aws_iam_role_policy", "log_stream_depth"),
    ]:
        assert terraform.resource(type_, name)["count"] == count, (type_, name)


def test_the_rule_on_the_partner_bus_sends_only_okta_system_log_events_to_the_queue(
    terraform: TerraformConfig,
) -> None:
    bus = terraform.resource("aws_cloudwatch_event_bus", "okta")
    assert bus["event_source_name"] == "${var.okta_log_stream_event_source}"
    rule = terraform.resource("aws_cloudwatch_event_rule", "okta_system_log")
    assert rule["event_bus_name"] == "${aws_cloudwatch_event_bus.okta[0].name}"
    pattern = rule["event_pattern"]
    assert "var.okta_log_stream_event_source" in pattern and '"SystemLog"' in pattern
    target = terraform.resource("aws_cloudwatch_event_target", "okta_system_log")
    assert target["arn"] == "${aws_sqs_queue.log_stream[0].arn}"


def test_both_queues_are_encrypted_and_the_queue_dead_letters_after_its_receives(
    terraform: TerraformConfig,
) -> None:
    queue = terraform.resource("aws_sqs_queue", "log_stream")
    dead_letters = terraform.resource("aws_sqs_queue", "log_stream_dead_letters")
    assert queue["sqs_managed_sse_enabled"] is True and dead_letters["sqs_managed_sse_enabled"]
    assert "aws_sqs_queue.log_stream_dead_letters[0].arn" in queue["redrive_policy"]
    assert "var.okta_log_stream_max_receives" in queue["redrive_policy"]


def test_only_the_rule_may_send_to_the_queue(terraform: TerraformConfig) -> None:
    (statement,) = statements(terraform, "log_stream_queue")
    assert statement["actions"] == ["sqs:SendMessage"]
    (principals,) = one_or_many(statement["principals"])
    (condition,) = one_or_many(statement["condition"])
    assert principals["identifiers"] == ["events.amazonaws.com"]
    assert condition["variable"] == "aws:SourceArn"
    assert condition["values"] == ["${aws_cloudwatch_event_rule.okta_system_log[0].arn}"]


def test_runs_drain_the_queue_and_the_code_server_only_reads_its_depth(
    terraform: TerraformConfig,
) -> None:
    drain = terraform.resource("aws_iam_role_policy", "log_stream_drain")
    depth = terraform.resource("aws_iam_role_policy", "log_stream_depth")
    assert drain["role"] == "${aws_iam_role.run.id}"
    assert depth["role"] == '${aws_iam_role.service["code_server"].id}'
    actions = {a for s in statements(terraform, "log_stream_drain") for a in s["actions"]}
    assert actions == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    assert not any("*" in a for a in actions)
    (read,) = statements(terraform, "log_stream_depth")
    assert read["actions"] == ["sqs:GetQueueAttributes"]


def test_the_event_source_is_validated_as_oktas_partner_source(terraform: TerraformConfig) -> None:
    validation = terraform.variables["okta_log_stream_event_source"]["validation"]
    validation = validation[0] if isinstance(validation, list) else validation
    pattern = re.search(r'regex\("(.+?)", var', validation["condition"])
    assert pattern is not None
    regex = json.loads(f'"{pattern.group(1)}"')
    assert re.match(regex, "aws.partner/okta.com/acme/okta-pipeline")
    assert not re.match(regex, "aws.partner/another.com/acme/x")
