"""`okta-pipeline ui` stops within 15 seconds of Ctrl-C, even with a run blocked on an Okta that
stopped answering, and the run is recorded as ended rather than left running; its simulated
org streams its log to a local queue that the definitions drain."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import dagster as dg

from okta_pipeline.cli.ui_command import local_services
from okta_pipeline.definitions import build_definitions
from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.defs.okta.log_stream import LogStreamResource, log_stream_queue_sensor
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.log_stream import drain_queue, queue_depth
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.okta.helpers import PARTITION_FORMAT, recent_window
from okta_pipeline_tests.ui.dagster_ui import RunningUi, running_ui

STOPS_WITHIN_SECONDS = 15.0
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


@contextmanager
def silent_okta() -> Iterator[tuple[str, threading.Event]]:
    """An Okta that accepts connections and never answers, and whether one came."""
    listener = socket.create_server(("127.0.0.1", 0))
    called = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)
            called.set()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", called
    finally:
        listener.close()
        for connection in held:
            connection.close()


def group_members(pgid: int) -> list[str]:
    """The running (not zombie) processes of the group, as `ps` shows them."""
    listing = subprocess.run(
        ["ps", "-eo", "pgid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        line.strip()
        for line in listing.splitlines()
        if line.split(None, 1)[0] == str(pgid) and not line.split()[1].startswith("Z")
    ]


def test_the_ui_stops_within_15_seconds_of_ctrl_c_with_a_run_blocked_on_okta(
    opensearch_endpoint: OpenSearchSettings, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    start, _ = recent_window(hours_ago=1)
    with silent_okta() as (okta_url, called):
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "OKTA_BASE_URL": okta_url,
            "OKTA_API_TOKEN": "token-of-an-okta-that-never-answers",
            "OPENSEARCH_URL": opensearch_endpoint.url,
            "OKTA_PIPELINE_LANDING_ROOT": str(tmp_path / "landing"),
        }
        # Leaving the block sends SIGINT (what Ctrl-C sends) and fails unless it stops in time.
        with running_ui(env, tmp_path / "ui.log", stop_within=STOPS_WITHIN_SECONDS) as ui:
            run_id = _launched(ui, start.strftime(PARTITION_FORMAT))
            assert called.wait(60), "the run never reached Okta"
    output = ui.log.read_text(errors="replace")
    assert ui.process.returncode == 0, output[-3000:]
    assert group_members(ui.process.pid) == []  # the command's own group
    # On a loaded machine the webserver and daemon may outlast the grace time and be killed;
    # the run itself must have been interrupted and recorded as ended before that.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status in (
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        ), run


def _launched(ui: RunningUi, partition: str) -> str:
    """Launch a fetch of one window through the webserver once its code location has loaded;
    the run's id."""
    params = {
        "selector": {
            "repositoryLocationName": "okta_pipeline.definitions",
            "repositoryName": "__repository__",
            "jobName": "okta_pipeline",
            "assetSelection": [{"path": ["okta_system_log"]}],
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        "runConfigData": {},
    }
    deadline = time.monotonic() + 60
    while True:
        launched = ui.graphql(LAUNCH, params=params)["launchRun"]
        if launched["__typename"] == "LaunchRunSuccess":
            return str(launched["run"]["runId"])
        assert time.monotonic() < deadline, f"the code location did not load: {launched}"
        time.sleep(0.5)


def test_the_uis_simulated_org_streams_its_log_and_the_definitions_drain_it(
    opensearch_endpoint: OpenSearchSettings, tmp_path: Path
) -> None:
    environ = {
        "OPENSEARCH_URL": opensearch_endpoint.url,
        "OKTA_PIPELINE_CLOUDTRAIL_ROOT": "s3://a-trail-not-read-here",  # no local trail
        "OKTA_PIPELINE_LANDING_ROOT": str(tmp_path / "landing"),
    }
    started = time.time()
    with local_services(environ, seed=5, events_per_minute=600) as env:
        settings = DeploymentSettings.from_environment(env)
        assert settings.log_stream_queue_url and settings.log_stream_dead_letter_queue_url
        defs = build_definitions(settings)
        assert defs.resolve_sensor_def(log_stream_queue_sensor.name) is not None
        resource = LogStreamResource(
            queue_url=env["OKTA_PIPELINE_LOG_STREAM_QUEUE_URL"],
            endpoint_url=env["OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL"],
            wait_seconds=0,
        )
        sqs = resource.sqs()
        deadline = time.monotonic() + 30
        while not queue_depth(sqs, resource.queue_url):
            assert time.monotonic() < deadline, "nothing was streamed to the queue in 30 s"
            time.sleep(0.5)
        with (
            dg.instance_for_test() as instance,
            dg.build_sensor_context(instance=instance, resources={"log_stream": resource}) as ctx,
        ):
            request = log_stream_queue_sensor(ctx)
        assert isinstance(request, dg.RunRequest)
        zone = LandingZone(tmp_path / "landing")
        report = drain_queue(sqs, resource.queue_url, zone, wait_seconds=0)
    # what was streamed was published while the UI ran: live, not history
    assert report.events > 0 and report.rejected == {}
    landed = [e for w in sorted(report.windows) for e in zone.read_window(w)]
    assert landed and all(
        datetime.fromisoformat(e["published"]).timestamp() >= started - 1 for e in landed
    )
