"""deploy/: the production Dagster instance and workspace are valid for the Dagster and
dagster-aws versions installed, agree with the Terraform task definitions and the image, and
keep backfills from starving the live windows."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import process_workspace_config
from dagster._utils.tags import TagConcurrencyLimitsCounter
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_postgres import DagsterPostgresStorage

from okta_pipeline.defs.okta.automation import automation_sensor
from okta_pipeline_tests.deployment.hcl import TerraformConfig, load_terraform

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# What terraform/ecs.tf sets on every Dagster task, plus the password it injects from Secrets
# Manager; checked against the HCL below.
TASK_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "DAGSTER_PG_HOST": "okta-pipeline-dagster.abc.us-east-1.rds.amazonaws.com",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "okta-pipeline-artifacts-123",
    "DAGSTER_CODE_SERVER_HOST": "code.okta-pipeline.internal",
    "DAGSTER_CODE_SERVER_PORT": "4000",
    "DAGSTER_RUN_TASK_DEFINITION": "okta-pipeline-run",
}


@pytest.fixture
def task_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in TASK_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return TASK_ENVIRONMENT


@pytest.fixture(scope="module")
def instance_yaml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def terraform() -> TerraformConfig:
    return load_terraform()


def class_config(schema: object, value: Mapping[str, object]) -> dict[str, Any]:
    result = process_config(schema, value)
    assert result.success, [error.message for error in result.errors or []]
    assert isinstance(result.value, dict)
    return result.value


def test_the_production_instance_is_valid_and_uses_postgres_ecs_and_s3(
    task_environment: dict[str, str], instance_yaml: dict[str, Any]
) -> None:
    config, custom_class = dagster_instance_config(str(DEPLOY))
    assert custom_class is None

    storage = class_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    database = storage["postgres_db"]
    assert database["hostname"] == task_environment["DAGSTER_PG_HOST"]
    assert database["password"] == task_environment["DAGSTER_PG_PASSWORD"]

    launcher = instance_yaml["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    launcher_schema = EcsRunLauncher.config_type()  # type: ignore[no-untyped-call]
    launched = class_config(launcher_schema, launcher["config"])
    assert launched["task_definition"] == {"env": "DAGSTER_RUN_TASK_DEFINITION"}
    assert launched["container_name"] == "run"

    logs = instance_yaml["compute_logs"]
    assert (logs["module"], logs["class"]) == (
        "dagster_aws.s3.compute_log_manager",
        "S3ComputeLogManager",
    )
    logs_schema = S3ComputeLogManager.config_type()  # type: ignore[no-untyped-call]
    logged = class_config(logs_schema, logs["config"])
    assert logged["bucket"] == task_environment["DAGSTER_COMPUTE_LOGS_BUCKET"]
    assert logged["prefix"] == "compute-logs"  # the bucket lifecycle rule and IAM use it


def test_the_database_connection_verifies_tls_against_the_ca_in_the_image(
    instance_yaml: dict[str, Any],
) -> None:
    params = instance_yaml["storage"]["postgres"]["postgres_db"]["params"]
    assert params["sslmode"] == "verify-full"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(
        r"^ADD .*rds\.amazonaws\.com/\S+ " + re.escape(params["sslrootcert"]) + "$",
        dockerfile,
        re.MULTILINE,
    )


def test_secrets_are_explicit_not_picked_up_by_tag(instance_yaml: dict[str, Any]) -> None:
    config = instance_yaml["run_launcher"]["config"]
    # The default secrets_tag ("dagster") would inject every secret carrying that tag.
    assert "secrets_tag" in config and config["secrets_tag"] is None


def test_backfills_cannot_starve_the_live_windows(instance_yaml: dict[str, Any]) -> None:
    """Replays the run queue's tag limits: a user's backfill runs one run at a time, and
    neither the automation's backfills nor its plain runs wait behind it."""
    runs = instance_yaml["concurrency"]["runs"]
    limits = runs["tag_concurrency_limits"]

    def run(**tags: str) -> dg.DagsterRun:
        return dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), tags=tags)

    users_day = run(**{"dagster/backfill": "user-90-days"})
    queue = TagConcurrencyLimitsCounter(limits, [users_day])
    assert queue.is_blocked(run(**{"dagster/backfill": "user-90-days"}))
    assert not queue.is_blocked(run(**{"dagster/backfill": "automation-lookback"}))
    assert not queue.is_blocked(run(**{"dagster/partition": "2026-12-01-10:05"}))
    assert automation_sensor.emit_backfills  # many windows in a tick: one backfill, not many runs
    # A user's backfill holds one slot of a pool at a time, so a live window always finds one.
    assert instance_yaml["concurrency"]["pools"]["default_limit"] >= 2
    assert runs["max_concurrent_runs"] >= 4


def test_runs_are_monitored_retried_once_and_ticks_are_purged(
    instance_yaml: dict[str, Any],
) -> None:
    monitoring = instance_yaml["run_monitoring"]
    assert monitoring["enabled"] is True
    assert 0 < monitoring["start_timeout_seconds"] <= 900
    assert monitoring["max_runtime_seconds"] > 0
    assert instance_yaml["run_retries"] == {
        "enabled": True,
        "max_retries": 1,
        "retry_on_asset_or_op_failure": False,
    }
    for kind in ("schedule", "sensor", "auto_materialize"):
        assert instance_yaml["retention"][kind]["purge_after_days"], kind


def test_the_workspace_finds_the_code_server(task_environment: dict[str, str]) -> None:
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    processed = process_workspace_config(workspace)
    assert processed.success and processed.value is not None
    loaded: Any = processed.value
    server = loaded["load_from"][0]["grpc_server"]
    assert server["host"] == task_environment["DAGSTER_CODE_SERVER_HOST"]
    assert server["port"] == int(task_environment["DAGSTER_CODE_SERVER_PORT"])


def test_every_variable_the_deploy_files_read_is_set_by_terraform(
    terraform: TerraformConfig,
) -> None:
    referenced: set[str] = set()
    for name in ("dagster.yaml", "workspace.yaml"):
        # `env: NAME` or `env:` with NAME on the next line
        referenced |= set(re.findall(r"\benv:\s+(\w+)", (DEPLOY / name).read_text()))
    set_by_terraform = set(terraform.locals["dagster_environment"])
    injected = {terraform.locals["db_password_secret"]["name"]}
    assert referenced, "no environment variables found in deploy/"
    assert referenced <= set_by_terraform | injected, referenced - set_by_terraform - injected
    assert referenced <= set(TASK_ENVIRONMENT)


def test_the_image_serves_what_the_task_definitions_run(terraform: TerraformConfig) -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY deploy/ /opt/okta-pipeline/deploy/" in dockerfile
    assert 'ENTRYPOINT ["/opt/okta-pipeline/deploy/entrypoint.sh"]' in dockerfile
    assert "'.[deploy]'" in dockerfile  # dagster-postgres for the storage above
    commands = str(terraform.locals["containers"])
    assert "/opt/okta-pipeline/deploy/workspace.yaml" in commands
    # The task definitions run the containers as the image's unprivileged user.
    users = set(re.findall(r'user\s+= "(\d+:\d+)"', (ROOT / "terraform" / "ecs.tf").read_text()))
    assert len(users) == 1 and f"USER {users.pop()}" in dockerfile


def test_the_entrypoint_puts_the_instance_config_into_dagster_home(tmp_path: Path) -> None:
    home = tmp_path / "dagster-home"
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "cat", str(home / "dagster.yaml")],
        env={
            "PATH": "/usr/bin:/bin",
            "DAGSTER_HOME": str(home),
            "OKTA_PIPELINE_INSTANCE_CONFIG": str(DEPLOY / "dagster.yaml"),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == (DEPLOY / "dagster.yaml").read_text()


def test_the_entrypoint_refuses_to_start_without_dagster_home() -> None:
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "true"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DAGSTER_HOME must be set" in result.stderr


def test_the_local_instance_stays_local() -> None:
    local = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert not {"storage", "run_launcher", "compute_logs", "run_storage"} & set(local)
