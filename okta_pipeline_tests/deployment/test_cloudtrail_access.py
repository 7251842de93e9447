"""CloudTrail ingestion in the Terraform deployment: with `cloudtrail_bucket` unset nothing of it
exists; set, the role that executes runs may list and get the trail's log files under
`<prefix>/AWSLogs/` (and decrypt them through S3 with the trail's key) and nothing else, and the
code server, every run and the OpenSearch setup task get OKTA_PIPELINE_CLOUDTRAIL_ROOT.

Three layers. The HCL, parsed: which role, which task definitions, which statements. Expressions
and validations, evaluated by `terraform console` on sample values (skipped without Terraform).
And the policy exactly as the AWS provider renders it: `terraform plan` of a scratch module made
of variables.tf and cloudtrail.tf, called once per sample configuration, with a stand-in run
role (skipped where the provider cannot be installed, as terraform/check.sh's validate is: set
TF_PLUGIN_MIRROR to a local provider mirror on a machine that reaches no registry)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from okta_pipeline.cli.main import main
from okta_pipeline.lib.opensearch.security_roles import ROLE_NAME, role_document
from okta_pipeline_tests.deployment.hcl import (
    TERRAFORM_DIR,
    TerraformConfig,
    evaluate,
    load_terraform,
    plain,
)

DEPLOY = TERRAFORM_DIR.parent / "deploy"
ROOT_VARIABLE = "OKTA_PIPELINE_CLOUDTRAIL_ROOT"
VARIABLES = ("cloudtrail_bucket", "cloudtrail_prefix", "cloudtrail_kms_key_arn")
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# The sample configurations rendered by `terraform plan` (the deployment's region: us-east-1,
# from terraform.tfvars.example).
CASES: dict[str, dict[str, str]] = {
    "off": {},
    "top_of_bucket": {"cloudtrail_bucket": "org-trail-logs"},
    "prefixed_with_key": {
        "cloudtrail_bucket": "org-trail-logs",
        "cloudtrail_prefix": "security/org-trail",
        "cloudtrail_kms_key_arn": KEY,
    },
}
ROOTS = {
    "off": "",
    "top_of_bucket": "s3://org-trail-logs",
    "prefixed_with_key": "s3://org-trail-logs/security/org-trail",
}
TOP_OF_BUCKET_STATEMENTS: list[dict[str, Any]] = [
    {
        "Sid": "ListCloudTrailLogs",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::org-trail-logs",
        "Condition": {"StringLike": {"s3:prefix": ["AWSLogs/", "AWSLogs/*"]}},
    },
    {
        "Sid": "ReadCloudTrailLogs",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::org-trail-logs/AWSLogs/*",
    },
]
PREFIXED_WITH_KEY_STATEMENTS: list[dict[str, Any]] = [
    {
        "Sid": "ListCloudTrailLogs",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::org-trail-logs",
        "Condition": {
            "StringLike": {
                "s3:prefix": ["security/org-trail/AWSLogs/", "security/org-trail/AWSLogs/*"]
            }
        },
    },
    {
        "Sid": "ReadCloudTrailLogs",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::org-trail-logs/security/org-trail/AWSLogs/*",
    },
    {
        # The key's region (the bucket's), not the deployment's (us-east-1).
        "Sid": "DecryptCloudTrailLogsThroughS3",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": KEY,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
    },
]


@pytest.fixture(scope="module")
def terraform() -> TerraformConfig:
    return load_terraform()


# ---------------------------------------------------------------------------------------------
# The HCL, parsed
# ---------------------------------------------------------------------------------------------


def test_the_variables_default_to_off(terraform: TerraformConfig) -> None:
    for name in VARIABLES:
        variable = terraform.variables[name]
        assert variable["default"] == "", name
        assert variable["type"] == "string", name
    assert terraform.locals["cloudtrail_enabled"] == '${var.cloudtrail_bucket != ""}'
    count = "${local.cloudtrail_enabled ? 1 : 0}"
    assert terraform.resource("aws_iam_role_policy", "cloudtrail_read")["count"] == count
    assert terraform.data_source("aws_iam_policy_document", "cloudtrail_read")["count"] == count


def test_the_access_goes_to_the_role_that_executes_runs(terraform: TerraformConfig) -> None:
    """Runs are Fargate tasks of the run task definition, started by the EcsRunLauncher; their
    task role is the run role, which gets the policy. No other role hears of CloudTrail."""
    launcher = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    assert launcher["config"]["task_definition"] == {"env": "DAGSTER_RUN_TASK_DEFINITION"}
    assert terraform.locals["dagster_environment"]["DAGSTER_RUN_TASK_DEFINITION"] == (
        "${local.run_task_family}"
    )
    run_task = terraform.resource("aws_ecs_task_definition", "run")
    assert run_task["family"] == "${local.run_task_family}"
    assert run_task["task_role_arn"] == "${aws_iam_role.run.arn}"

    policy = terraform.resource("aws_iam_role_policy", "cloudtrail_read")
    assert policy["role"] == "${aws_iam_role.run.id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.cloudtrail_read[0].json}"
    # Outside cloudtrail.tf only the root is used: by the environment and an output.
    used = {
        # (the CloudTrail Lake sink is another service: cloudtrail_lake.tf, cloudtrail_lake_*)
        path.name: re.findall(
            r"\b(?:var|local|data\.\w+|aws_\w+)\.cloudtrail(?!_lake)\w*", path.read_text()
        )
        for path in TERRAFORM_DIR.glob("*.tf")
        if path.name not in ("cloudtrail.tf", "cloudtrail_lake.tf", "variables.tf")
    }
    assert {name: found for name, found in used.items() if found} == {
        "ecs.tf": ["local.cloudtrail_root"],
        "outputs.tf": ["local.cloudtrail_root"],
    }


def test_the_policy_reads_and_lists_under_awslogs_and_decrypts_through_s3_only(
    terraform: TerraformConfig,
) -> None:
    document = terraform.data_source("aws_iam_policy_document", "cloudtrail_read")
    (kms,) = [block["statement"] for block in document["dynamic"]]
    statements = [*document["statement"], *kms["content"]]
    for statement in statements:
        assert statement.get("effect", "Allow") == "Allow"
        assert "not_resources" not in statement and "not_actions" not in statement
        for resource in statement["resources"]:
            assert resource != "*" and not resource.startswith("*")
    assert [s["actions"] for s in statements] == [
        ["s3:ListBucket"],
        ["s3:GetObject"],
        ["kms:Decrypt"],
    ]
    listing, reading = document["statement"]
    assert listing["resources"] == ["${local.cloudtrail_bucket_arn}"]
    assert listing["condition"] == [
        {
            "test": "StringLike",
            "variable": "s3:prefix",
            "values": ["${local.cloudtrail_logs_prefix}", "${local.cloudtrail_logs_prefix}*"],
        }
    ]
    assert reading["resources"] == [
        "${local.cloudtrail_bucket_arn}/${local.cloudtrail_logs_prefix}*"
    ]
    assert "condition" not in reading
    assert (
        kms["for_each"] == '${var.cloudtrail_kms_key_arn == "" ? [] : [var.cloudtrail_kms_key_arn]}'
    )
    (decrypt,) = kms["content"]
    assert decrypt["resources"] == ["${statement.value}"]
    (via,) = decrypt["condition"]
    assert (via["test"], via["variable"]) == ("StringEquals", "kms:ViaService")


# ---------------------------------------------------------------------------------------------
# Expressions and validations, evaluated by Terraform
# ---------------------------------------------------------------------------------------------


def hcl_literal(value: str) -> str:
    """A string as an HCL string literal: JSON's escapes, and no interpolation."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def variable_literals(values: Mapping[str, str]) -> dict[str, str]:
    """The CloudTrail variables as literals to inline: those given, the rest at their default."""
    return {f"var.{name}": hcl_literal(values.get(name, "")) for name in VARIABLES}


def cloudtrail_locals(terraform: TerraformConfig, **values: str) -> dict[str, Any]:
    """The CloudTrail locals for the given variables, each evaluated by `terraform console`
    with the variables and the locals before it inlined."""
    literals = variable_literals(values)
    literals["local.partition"] = '"aws"'
    evaluated: dict[str, Any] = {}
    for name in (
        "cloudtrail_enabled",
        "cloudtrail_logs_prefix",
        "cloudtrail_bucket_arn",
        "cloudtrail_root",
    ):
        expression = terraform.locals[name]
        if not (expression.startswith("${") and expression.endswith("}")):
            expression = f'"{expression}"'  # a template: parsing took its quotes off
        result = evaluate(expression, literals)
        literals[f"local.{name}"] = result
        evaluated[name] = json.loads(result)
    return evaluated


@pytest.mark.parametrize(
    ("bucket", "prefix", "logs_prefix", "root"),
    [
        ("", "", "AWSLogs/", ""),
        ("org-trail-logs", "", "AWSLogs/", "s3://org-trail-logs"),
        ("org-trail-logs", "org-trail", "org-trail/AWSLogs/", "s3://org-trail-logs/org-trail"),
        ("org-trail-logs", "a/b/c", "a/b/c/AWSLogs/", "s3://org-trail-logs/a/b/c"),
    ],
)
def test_the_root_and_the_key_prefix_never_double_a_slash(
    terraform: TerraformConfig, bucket: str, prefix: str, logs_prefix: str, root: str
) -> None:
    evaluated = cloudtrail_locals(terraform, cloudtrail_bucket=bucket, cloudtrail_prefix=prefix)
    assert evaluated == {
        "cloudtrail_enabled": bucket != "",
        "cloudtrail_logs_prefix": logs_prefix,
        "cloudtrail_bucket_arn": f"arn:aws:s3:::{bucket}",
        "cloudtrail_root": root,
    }
    object_arns = f"{evaluated['cloudtrail_bucket_arn']}/{logs_prefix}*"
    assert "//" not in object_arns and "//" not in root.removeprefix("s3://")


def test_the_key_is_used_through_s3_of_its_own_region(terraform: TerraformConfig) -> None:
    """S3 encrypts with a key of the bucket's region only, so the key's ARN names the region
    whose S3 may use it, whichever region the deployment is in."""
    document = terraform.data_source("aws_iam_policy_document", "cloudtrail_read")
    (via,) = document["dynamic"][0]["statement"]["content"][0]["condition"]
    (service,) = via["values"]
    assert json.loads(evaluate(service, {"statement.value": hcl_literal(KEY)})) == (
        "s3.eu-west-1.amazonaws.com"
    )


def container_environment(terraform: TerraformConfig, task: str, root: str) -> dict[str, str]:
    """The environment of a task definition's container, as Terraform computes it from a
    pipeline environment holding the CloudTrail root and one other setting."""
    definitions = terraform.resource("aws_ecs_task_definition", task)["container_definitions"]
    match = re.search(r"environment = (\[for key, value in .*? if value != \"\"\])", definitions)
    assert match, f"{task}: no environment list that leaves out empty values"
    expression = match.group(1)
    if task == "service":  # the code server's entry of local.containers
        code_server = terraform.locals["containers"]["code_server"]["environment"]
        expression = expression.replace("each.value.environment", code_server[2:-1])
    pipeline_environment = terraform.locals["pipeline_environment"]
    assert pipeline_environment[ROOT_VARIABLE] == "${local.cloudtrail_root}"
    literals = {
        "local.pipeline_environment": (
            f'{{{ROOT_VARIABLE} = {json.dumps(root)}, OKTA_BASE_URL = "https://example.okta.com"}}'
        ),
        "local.dagster_environment": '{AWS_REGION = "us-east-1"}',
        "local.image": '"okta-pipeline:0.1.0"',
    }
    rendered = json.loads(json.loads(evaluate(f"jsonencode({expression})", literals)))
    return {item["name"]: item["value"] for item in rendered}


@pytest.mark.parametrize("task", ["service", "run"])
@pytest.mark.parametrize(("case", "root"), ROOTS.items())
def test_the_code_server_and_every_run_get_the_root_only_when_it_is_set(
    terraform: TerraformConfig, task: str, case: str, root: str
) -> None:
    assert cloudtrail_locals(terraform, **CASES[case])["cloudtrail_root"] == root
    environment = container_environment(terraform, task, root)
    assert environment["OKTA_BASE_URL"] == "https://example.okta.com"
    if root:
        assert environment[ROOT_VARIABLE] == root
    else:
        assert ROOT_VARIABLE not in environment


@pytest.mark.parametrize(("case", "root"), ROOTS.items())
def test_the_opensearch_setup_task_gets_the_root_only_when_it_is_set(
    terraform: TerraformConfig,
    case: str,
    root: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """grant-run-role reads the root as the definitions do: with it, the run role may use the
    CloudTrail and identity link indices the CloudTrail assets load and search."""
    assert cloudtrail_locals(terraform, **CASES[case])["cloudtrail_root"] == root
    definitions = terraform.resource("aws_ecs_task_definition", "opensearch_security_setup")[
        "container_definitions"
    ]
    match = re.search(r"environment = (concat\(.*?if value != \"\"\]\))", definitions)
    assert match, "the setup task: no environment list that leaves out an empty root"
    literals = {
        f"local.pipeline_environment.{ROOT_VARIABLE}": json.dumps(root),
        "local.pipeline_environment.OPENSEARCH_URL": '"https://vpc-okta.us-east-1.es.amazonaws.com"',
        "var.region": '"us-east-1"',
    }
    rendered = json.loads(json.loads(evaluate(f"jsonencode({match.group(1)})", literals)))
    environment = {item["name"]: item["value"] for item in rendered}
    assert environment.pop(ROOT_VARIABLE, "") == root
    assert set(environment) == {"OPENSEARCH_URL", "OPENSEARCH_AWS_REGION", "AWS_REGION"}
    # The role that environment gives (printed by --dry-run, as the task would put it).
    monkeypatch.delenv(ROOT_VARIABLE, raising=False)
    for name, value in {**environment, ROOT_VARIABLE: root}.items():
        monkeypatch.setenv(name, value)
    run_role = "arn:aws:iam::123456789012:role/okta-pipeline-run-1"
    assert main(["opensearch", "grant-run-role", "--backend-role", run_role, "--dry-run"]) == 0
    role = json.loads(capsys.readouterr().out)["role"][ROLE_NAME]
    assert role == role_document(cloudtrail=bool(root))
    patterns = {p for grant in role["index_permissions"] for p in grant["index_patterns"]}
    aws = {"cloudtrail-2*", "okta-aws-sessions-2*"}
    assert aws <= patterns if root else not aws & patterns


def accepted(terraform: TerraformConfig, variable: str, **values: str) -> bool:
    """Whether every validation of `variable` holds for the given CloudTrail variables (the
    rest at their defaults)."""
    literals = variable_literals(values)
    return all(
        evaluate(validation["condition"], literals) == "true"
        for validation in terraform.variables[variable]["validation"]
    )


@pytest.mark.parametrize(
    ("bucket", "ok"),
    [
        ("", True),
        ("org-trail-logs", True),
        ("aws-cloudtrail-logs-111122223333-0a1b2c3d", True),
        ("logs.example.com", True),
        ("s3://org-trail-logs", False),
        ("arn:aws:s3:::org-trail-logs", False),
        ("Org-Trail-Logs", False),
        ("org-trail-logs/", False),
        ("org..logs", False),
        ("ab", False),
        ("-logs", False),
    ],
)
def test_the_bucket_is_a_bucket_name(terraform: TerraformConfig, bucket: str, ok: bool) -> None:
    assert accepted(terraform, "cloudtrail_bucket", cloudtrail_bucket=bucket) is ok


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("", True),
        ("org-trail", True),
        ("security/org-trail", True),
        ("logs_2026.v1(a)", True),
        ("/org-trail", False),
        ("org-trail/", False),
        ("security//org-trail", False),
        ("org-*", False),
        ("org-?", False),
        ("${aws:username}", False),
        ("org-trail/AWSLogs", False),
        ("AWSLogs", False),
        ("x" * 201, False),
    ],
)
def test_the_prefix_is_what_comes_before_awslogs(
    terraform: TerraformConfig, prefix: str, ok: bool
) -> None:
    values = {"cloudtrail_bucket": "org-trail-logs", "cloudtrail_prefix": prefix}
    assert accepted(terraform, "cloudtrail_prefix", **values) is ok
    if prefix:
        assert not accepted(terraform, "cloudtrail_prefix", cloudtrail_prefix=prefix)


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("", True),
        (KEY, True),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef", True),
        (
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            True,
        ),
        ("arn:aws:kms:eu-west-1:111122223333:alias/cloudtrail", False),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:eu-west-1:111122223333:key/*", False),
        ("*", False),
    ],
)
def test_the_key_is_a_kms_key_arn(terraform: TerraformConfig, key: str, ok: bool) -> None:
    values = {"cloudtrail_bucket": "org-trail-logs", "cloudtrail_kms_key_arn": key}
    assert accepted(terraform, "cloudtrail_kms_key_arn", **values) is ok
    if key:
        assert not accepted(terraform, "cloudtrail_kms_key_arn", cloudtrail_kms_key_arn=key)


# ---------------------------------------------------------------------------------------------
# The policy as the AWS provider renders it
# ---------------------------------------------------------------------------------------------

# Stand-ins for what cloudtrail.tf takes from the rest of the configuration.
STAND_INS = """
locals {
  partition = "aws"
}

resource "aws_iam_role" "run" {
  name_prefix        = "okta-pipeline-run-"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}

output "cloudtrail_root" {
  value = local.cloudtrail_root
}
"""
INSTALL_FAILURES = (
    "Failed to query available provider packages",
    "could not connect to registry",
    "Failed to install provider",
)


@pytest.fixture(scope="module")
def rendered(
    terraform: TerraformConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Any, str]]:
    """For each of CASES, the run role's CloudTrail policy as planned (None when there is
    none) and the root the code is given."""
    terraform_cli = shutil.which("terraform")
    if terraform_cli is None:
        pytest.skip("Terraform is not installed: the policy cannot be rendered")
    scratch = tmp_path_factory.mktemp("cloudtrail-plan")
    deployment = scratch / "deployment"
    deployment.mkdir()
    for name in ("variables.tf", "cloudtrail.tf"):
        shutil.copy(TERRAFORM_DIR / name, deployment / name)
    (deployment / "stand_ins.tf").write_text(STAND_INS)
    (scratch / "main.tf").write_text(root_module(terraform))

    environment = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(scratch / ".tf")}
    mirror = os.environ.get("TF_PLUGIN_MIRROR")
    if mirror:
        cli_config = scratch / "cli.tfrc"
        cli_config.write_text(
            "provider_installation {\n  filesystem_mirror {\n"
            f"    path    = {json.dumps(mirror)}\n"
            '    include = ["registry.terraform.io/*/*"]\n  }\n}\n'
        )
        environment["TF_CLI_CONFIG_FILE"] = str(cli_config)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [terraform_cli, *args],
            cwd=scratch,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    init = run("init", "-backend=false", "-input=false", "-no-color")
    if init.returncode != 0:
        if any(failure in init.stdout + init.stderr for failure in INSTALL_FAILURES):
            pytest.skip("the hashicorp/aws provider cannot be installed (set TF_PLUGIN_MIRROR)")
        pytest.fail(init.stdout + init.stderr)
    plan = run("plan", "-input=false", "-no-color", "-refresh=false", "-out=plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = run("show", "-json", "plan")
    assert shown.returncode == 0, shown.stderr
    planned = json.loads(shown.stdout)["planned_values"]
    modules = {m["address"]: m["resources"] for m in planned["root_module"]["child_modules"]}
    results: dict[str, tuple[Any, str]] = {}
    for case in CASES:
        policies = [
            json.loads(r["values"]["policy"])
            for r in modules[f"module.{case}"]
            if r["type"] == "aws_iam_role_policy"
        ]
        assert len(policies) <= 1, case
        results[case] = (policies[0] if policies else None, planned["outputs"][case]["value"])
    return results


def root_module(terraform: TerraformConfig) -> str:
    """A provider that needs no AWS account (planning an IAM policy calls no API), and the
    deployment module once per case, with the example variables file's required values."""
    with (TERRAFORM_DIR / "terraform.tfvars.example").open() as example:
        required = plain(hcl2.load(example))
    version = terraform.terraform[0]["required_providers"][0]["aws"]["version"]
    blocks = [
        "terraform {\n  required_providers {\n"
        f'    aws = {{ source = "hashicorp/aws", version = {json.dumps(version)} }}\n  }}\n}}\n',
        'provider "aws" {\n'
        f"  region                      = {json.dumps(required['region'])}\n"
        '  access_key                  = "planning-needs-no-account"\n'
        '  secret_key                  = "planning-needs-no-account"\n'
        "  skip_credentials_validation = true\n"
        "  skip_requesting_account_id  = true\n"
        "  skip_metadata_api_check     = true\n}\n",
    ]
    for case, values in CASES.items():
        arguments = "".join(
            f"  {name} = {json.dumps(value)}\n" for name, value in {**required, **values}.items()
        )
        blocks.append(f'module "{case}" {{\n  source = "./deployment"\n{arguments}}}\n')
        blocks.append(f'output "{case}" {{\n  value = module.{case}.cloudtrail_root\n}}\n')
    return "\n".join(blocks)


def test_unset_there_is_no_policy_and_no_root(rendered: dict[str, tuple[Any, str]]) -> None:
    assert rendered["off"] == (None, "")


def test_at_the_top_of_a_bucket_the_policy_lists_and_reads_awslogs_only(
    rendered: dict[str, tuple[Any, str]],
) -> None:
    policy, root = rendered["top_of_bucket"]
    assert root == ROOTS["top_of_bucket"]
    assert policy == {"Version": "2012-10-17", "Statement": TOP_OF_BUCKET_STATEMENTS}


def test_with_a_prefix_and_a_key_the_policy_also_decrypts_through_s3(
    rendered: dict[str, tuple[Any, str]],
) -> None:
    policy, root = rendered["prefixed_with_key"]
    assert root == ROOTS["prefixed_with_key"]
    assert policy == {"Version": "2012-10-17", "Statement": PREFIXED_WITH_KEY_STATEMENTS}


# ---------------------------------------------------------------------------------------------
# checkov with CloudTrail on, and the README
# ---------------------------------------------------------------------------------------------


def test_checkov_passes_with_cloudtrail_on(tmp_path: Path) -> None:
    """The deployment tests' checkov run covers the defaults; this one, the policy in use."""
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
    assert checkov, "checkov not found: run `make test`, which installs it into .venv-checkov"
    variables = tmp_path / "cloudtrail.tfvars"
    variables.write_text(
        "".join(
            f"{name} = {json.dumps(value)}\n" for name, value in CASES["prefixed_with_key"].items()
        )
    )
    result = subprocess.run(
        [
            checkov,
            "--directory",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--skip-download",
            "--var-file",
            str(variables),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = json.loads(result.stdout)["results"]
    failed = results["failed_checks"]
    assert not failed, [f"{c['check_id']} {c['resource']} {c['file_path']}" for c in failed]
    checked = {c["resource"] for c in results["passed_checks"]}
    assert {
        "aws_iam_role_policy.cloudtrail_read",
        "aws_iam_policy_document.cloudtrail_read",
    } <= checked


def test_the_readme_gives_the_bucket_and_key_policy_statements() -> None:
    """The statements a user adds on the bucket's and the key's side grant what the run role's
    own policy grants, to the run role."""
    readme = (TERRAFORM_DIR / "README.md").read_text()
    section = readme.split("\n## CloudTrail\n")[1].split("\n## ")[0]
    for name in (*VARIABLES, ROOT_VARIABLE, "pipeline_role_arn", "organization"):
        assert name in section, name
    blocks = re.findall(r"```json\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "one block of bucket policy statements, one key policy statement"
    bucket_side: list[dict[str, Any]] = json.loads(blocks[0])
    key_side: dict[str, Any] = json.loads(blocks[1])
    for statement in (*bucket_side, key_side):
        assert statement["Effect"] == "Allow"
        assert re.fullmatch(
            r"arn:aws:iam::\d{12}:role/okta-pipeline-run-\d+", statement["Principal"]["AWS"]
        )
    ours = [{k: v for k, v in s.items() if k != "Sid"} for s in TOP_OF_BUCKET_STATEMENTS]
    theirs = [{k: v for k, v in s.items() if k not in ("Sid", "Principal")} for s in bucket_side]
    assert theirs == ours
    assert key_side["Action"] == "kms:Decrypt" and key_side["Resource"] == "*"
    assert key_side["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
