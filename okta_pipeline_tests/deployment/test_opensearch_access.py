"""Who administers OpenSearch in the Terraform deployment: an admin IAM role is the fine-grained
access control master user, the run role is not, a one-off ECS task maps the run role to its
security role, and the run role's IAM policy lets it DELETE only what the pipeline deletes
(found by reading the code, then recorded from the code's own requests)."""

from __future__ import annotations

import ast
import json
import re
import shlex
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from okta_pipeline.cli.main import build_parser
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.detections.monitors import desired_monitors
from okta_pipeline.defs.detections.resources import DetectionsResource, monitors_resource
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.lib.http_server import send_json
from okta_pipeline.lib.monitors.sync import MONITORS, MonitorSync
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect
from okta_pipeline.lib.opensearch.index_setup import delete_expired_indices
from okta_pipeline.lib.opensearch.okta_index import TEMPLATE_NAME, daily_indices
from okta_pipeline_tests.deployment.hcl import (
    TERRAFORM_DIR,
    TerraformConfig,
    evaluate,
    load_terraform,
    validation_accepts,
)

PACKAGE = Path(__file__).resolve().parents[2] / "okta_pipeline"
DOMAIN = "${aws_opensearch_domain.this.arn}"
ADMIN = "${aws_iam_role.opensearch_admin.arn}"
RUN = "${aws_iam_role.run.arn}"
# Every function of the package that sends a DELETE to OpenSearch, and whether runs call it.
DELETING_FUNCTIONS = {
    "delete_expired_indices": True,  # okta_index_retention
    "MonitorSync._delete": True,  # detection_monitors
    "drop_prefix": False,  # tests' clean-up
    "drop_managed_prefix": False,  # tests' and the benchmark's clean-up
    "remove_receiver_channel": False,  # not called by the pipeline
}


@pytest.fixture(scope="module")
def terraform() -> TerraformConfig:
    return load_terraform()


def statements(terraform: TerraformConfig, document: str) -> dict[str, dict[str, Any]]:
    body = terraform.data_source("aws_iam_policy_document", document)
    return {s["sid"]: s for s in body["statement"]}


def test_the_master_user_is_the_admin_role_not_the_run_role(terraform: TerraformConfig) -> None:
    security = terraform.resource("aws_opensearch_domain", "this")["advanced_security_options"][0]
    assert security["internal_user_database_enabled"] is False  # no password anywhere: SigV4
    assert security["master_user_options"] == [{"master_user_arn": ADMIN}]
    admin = terraform.resource("aws_iam_role", "opensearch_admin")
    assert admin["assume_role_policy"] == (
        "${data.aws_iam_policy_document.opensearch_admin_assume.json}"
    )
    # The domain admits the admin beside the run role (with SAML on, every principal).
    (access,) = terraform.data_source("aws_iam_policy_document", "opensearch_access")["statement"]
    identifiers = access["principals"][0]["identifiers"]
    assert f"[{RUN.strip('${}')}, {ADMIN.strip('${}')}]" in identifiers
    # Who becomes the admin: ECS tasks of this account (PassRole decides which), and the named
    # administrators, when there are any.
    trust = terraform.data_source("aws_iam_policy_document", "opensearch_admin_assume")
    assert trust["source_policy_documents"] == [
        "${data.aws_iam_policy_document.ecs_tasks_assume.json}"
    ]
    named = trust["dynamic"][0]["statement"]
    assert named["for_each"] == "${length(var.opensearch_admin_principal_arns) > 0 ? [1] : []}"
    assert named["content"][0]["principals"] == [
        {"type": "AWS", "identifiers": "${var.opensearch_admin_principal_arns}"}
    ]
    # The daemon hands run tasks their roles: never the admin's, and it starts only run tasks.
    daemon = statements(terraform, "daemon")
    assert daemon["HandRolesToRunTasks"]["resources"] == [RUN, "${aws_iam_role.execution.arn}"]
    assert daemon["LaunchRunTasks"]["resources"] == [
        "arn:${local.partition}:ecs:${var.region}:${local.account_id}:task-definition/"
        "${aws_ecs_task_definition.run.family}:*"
    ]
    assert "os-admin" in admin["name_prefix"]


def test_a_run_may_delete_only_what_the_pipeline_deletes(terraform: TerraformConfig) -> None:
    assert terraform.locals["pipeline_deletes"] == [
        f"{DOMAIN}/{daily_indices(TEMPLATE_NAME)}",
        f"{DOMAIN}{MONITORS}/*",
    ]
    run = statements(terraform, "run")
    allowed = {sid: s for sid, s in run.items() if s.get("effect", "Allow") == "Allow"}
    opensearch = {sid: s for sid, s in allowed.items() if any("es:" in a for a in s["actions"])}
    assert opensearch == {
        "OpenSearch": {
            "sid": "OpenSearch",
            "actions": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"],
            "resources": [f"{DOMAIN}/*"],
        },
        "OpenSearchDeletesOnlyWhatThePipelineDeletes": {
            "sid": "OpenSearchDeletesOnlyWhatThePipelineDeletes",
            "actions": ["es:ESHttpDelete"],
            "resources": "${local.pipeline_deletes}",
        },
    }
    # The domain's access policy (a resource policy of this account) would allow any DELETE on
    # its own: the explicit deny holds whatever it says.
    assert run["NoOtherOpenSearchDelete"] == {
        "sid": "NoOtherOpenSearchDelete",
        "effect": "Deny",
        "actions": ["es:ESHttpDelete"],
        "not_resources": "${local.pipeline_deletes}",
    }
    denied = run["NoOpenSearchSecurityConfiguration"]
    assert denied["effect"] == "Deny" and denied["actions"] == ["es:ESHttp*"]
    assert denied["resources"] == [
        f"{DOMAIN}/_plugins/_security/*",
        f"{DOMAIN}/_opendistro/_security/*",
    ]


def test_every_delete_in_the_code_is_known_and_only_retention_and_monitor_sync_run() -> None:
    """Reading the code: the functions that send DELETE to OpenSearch, and who calls them."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "local_opensearch" in path.parts:
            continue  # the local node's own lifecycle, never a deployed cluster
        tree = ast.parse(path.read_text())
        for scope in ast.walk(tree):
            if not isinstance(scope, ast.ClassDef | ast.Module):
                continue
            prefix = f"{scope.name}." if isinstance(scope, ast.ClassDef) else ""
            for statement in scope.body:
                if isinstance(statement, ast.FunctionDef) and _sends_delete(statement):
                    found.add(prefix + statement.name)
    assert found == set(DELETING_FUNCTIONS)
    runs = "\n".join(
        p.read_text() for p in [PACKAGE / "definitions.py", *(PACKAGE / "defs").rglob("*.py")]
    )
    for name, called_by_runs in DELETING_FUNCTIONS.items():
        caller = name.split(".")[0]  # a method is reached through its class
        assert (caller in runs) is called_by_runs, name


def _sends_delete(function: ast.FunctionDef) -> bool:
    for node in ast.walk(function):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in ("delete", "delete_index_template", "delete_template"):
            return True
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and first.value == "DELETE":
            return True
    return False


class Recorder(BaseHTTPRequestHandler):
    """Just enough of a cluster for retention and the monitor sync to delete something."""

    answers: ClassVar[dict[tuple[str, str], Any]] = {}
    deletes: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        type(self).deletes.append(urlsplit(self.path).path)
        self._answer()

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = (self.command, urlsplit(self.path).path)
        send_json(self, 200, self.answers.get(key, {"acknowledged": True}))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.deletes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_deletes_runs_send_are_exactly_the_iam_paths(
    terraform: TerraformConfig, recorder: str
) -> None:
    opensearch = OpenSearchResource(url=recorder)
    client = connect(OpenSearchSettings(recorder))
    prefix = opensearch.index_prefix
    (monitor, *_) = desired_monitors(
        opensearch, DetectionsResource(), monitors_resource(DeploymentSettings())
    )
    Recorder.answers = {
        ("GET", f"/{daily_indices(prefix)}"): {
            f"{prefix}-2020.01.01": {},
            f"{prefix}-2026.11.20": {},
        },
        ("POST", f"{MONITORS}/_search"): {
            "hits": {
                "hits": [
                    {
                        "_id": "gone",
                        "_seq_no": 1,
                        "_primary_term": 1,
                        "_source": {"monitor": monitor},
                    }
                ]
            }
        },
    }
    assert delete_expired_indices(client, prefix, 90, today=date(2026, 11, 20))
    assert MonitorSync(client, prefix).sync([]).deleted
    patterns = [p.removeprefix(f"{DOMAIN}/") for p in terraform.locals["pipeline_deletes"]]
    assert Recorder.deletes == [f"/{prefix}-2020.01.01", f"{MONITORS}/gone"]
    for path in Recorder.deletes:
        assert any(_iam_match(p, path.lstrip("/")) for p in patterns), path
    for pattern in patterns:
        assert any(_iam_match(pattern, path.lstrip("/")) for path in Recorder.deletes), pattern


def _iam_match(pattern: str, path: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def test_the_setup_task_runs_grant_run_role_as_the_admin(terraform: TerraformConfig) -> None:
    task = terraform.resource("aws_ecs_task_definition", "opensearch_security_setup")
    assert task["task_role_arn"] == ADMIN
    assert task["execution_role_arn"] == "${aws_iam_role.execution.arn}"
    assert task["family"] == "${var.name}-opensearch-setup"
    containers = task["container_definitions"]
    command = re.search(r"command = \[([^\]]*)\]", containers)
    assert command is not None
    argv = [arg.strip().strip('"') for arg in command.group(1).split(",")]
    assert argv[0] == "okta-pipeline" and argv[-1] == "aws_iam_role.run.arn"
    # The image's own CLI accepts it, with the run role's ARN as the backend role.
    arn = "arn:aws:iam::123456789012:role/okta-pipeline-run-1"
    args = build_parser().parse_args([*argv[1:-1], arn])
    assert args.handler.__name__ == "_grant_run_role" and args.backend_roles == [arn]
    # It finds the domain as runs do and signs with SigV4; it gets no secret at all.
    assert '{name = "OPENSEARCH_URL", value = local.pipeline_environment.OPENSEARCH_URL}' in (
        containers
    )
    assert '{name = "OPENSEARCH_AWS_REGION", value = var.region}' in containers
    assert "secrets" not in containers and "PASSWORD" not in containers.upper()
    assert "readonlyRootFilesystem = true" in containers and 'user = "10001:10001"' in containers
    assert 'aws_cloudwatch_log_group.ecs["opensearch_setup"].name' in containers
    assert terraform.locals["log_groups"]["opensearch_setup"] == "/ecs/${var.name}/opensearch-setup"


def test_the_setup_command_output_is_one_runnable_aws_cli_command(
    terraform: TerraformConfig,
) -> None:
    """The output, evaluated by Terraform with sample values, splits into the arguments of
    `aws ecs run-task` in the VPC where the domain answers."""
    expression = terraform.outputs["opensearch_security_setup_command"]["value"]
    samples = {
        "var.region": '"eu-west-1"',
        "var.private_subnet_ids": '["subnet-0aaa1111", "subnet-0bbb2222"]',
        "aws_ecs_cluster.this.name": '"okta-pipeline"',
        "aws_ecs_task_definition.opensearch_security_setup.arn": (
            '"arn:aws:ecs:eu-west-1:123456789012:task-definition/okta-pipeline-opensearch-setup:3"'
        ),
        "aws_security_group.dagster.id": '"sg-0ccc3333"',
    }
    argv = shlex.split(json.loads(evaluate(expression, samples)))
    assert argv[:3] == ["aws", "ecs", "run-task"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert options == {
        "--region": "eu-west-1",
        "--cluster": "okta-pipeline",
        "--launch-type": "FARGATE",
        "--task-definition": (
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/okta-pipeline-opensearch-setup:3"
        ),
        "--network-configuration": "awsvpcConfiguration={subnets=[subnet-0aaa1111,"
        "subnet-0bbb2222],securityGroups=[sg-0ccc3333],assignPublicIp=DISABLED}",
        "--query": "tasks[0].taskArn",
        "--output": "text",
    }


@pytest.mark.parametrize(
    ("arns", "accepted"),
    [
        ([], True),
        (["arn:aws:iam::123456789012:role/platform-admins"], True),
        (["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_x"], True),
        (["arn:aws-us-gov:iam::123456789012:user/break-glass"], True),
        (["arn:aws:iam::123456789012:root"], False),
        (["123456789012"], False),
        (["*"], False),
        (["arn:aws:iam::123456789012:role/*"], False),
        (["arn:aws:sts::123456789012:assumed-role/admins/jane"], False),
    ],
)
def test_admin_principals_are_named_roles_or_users_only(
    terraform: TerraformConfig, arns: list[str], accepted: bool
) -> None:
    variable = terraform.variables["opensearch_admin_principal_arns"]
    assert variable["default"] == []
    assert validation_accepts(terraform, "opensearch_admin_principal_arns", arns) is accepted


def test_the_readme_gives_the_order_and_the_upgrade(terraform: TerraformConfig) -> None:
    readme = (TERRAFORM_DIR / "README.md").read_text()
    for needed in (
        "opensearch_security_setup_command",
        "grant-run-role",
        "opensearch_admin_principal_arns",
        "was the master user",
    ):
        assert needed in readme, needed
    assert "The pipeline is the OpenSearch master user" not in readme
