"""`okta-pipeline ui` stops within 15 seconds of Ctrl-C, even with a run blocked on an Okta that
stopped answering, and the run is recorded as ended rather than left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import httpx

from okta_pipeline.lib.opensearch.connection import OpenSearchSettings
from okta_pipeline_tests.okta.helpers import PARTITION_FORMAT, recent_window

ROOT = Path(__file__).resolve().parents[1]
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds:.0f} s")


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
    home, port = tmp_path / "dagster_home", free_port()
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
        ui = subprocess.Popen(
            [sys.executable, "-m", "okta_pipeline.cli.main", "ui", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # its own group, as a terminal gives a command: Ctrl-C reaches only it
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(f"{base}/server_info"), 90, "the webserver did not answer")
            run_id = wait_for(
                lambda: _launched(base, start.strftime(PARTITION_FORMAT)),
                60,
                "the code location did not load for a launch",
            )
            assert called.wait(60), "the run never reached Okta"
            asked = time.monotonic()
            ui.send_signal(signal.SIGINT)  # what Ctrl-C sends it
            ui.wait(timeout=STOPS_WITHIN_SECONDS + 5)
            stopped_after = time.monotonic() - asked
            output = ui.stdout.read().decode(errors="replace") if ui.stdout else ""
        finally:
            if ui.poll() is None:
                ui.kill()
    assert stopped_after < STOPS_WITHIN_SECONDS, output[-3000:]
    assert ui.returncode == 0, output[-3000:]
    assert group_members(ui.pid) == []  # the command's own group
    assert "did not stop in time" not in output, output[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status in (
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        ), run


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _launched(base: str, partition: str) -> str | None:
    """Launch a fetch of one window through the webserver; its run id once the code location
    has loaded and the launch went through."""
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
    try:
        answer = httpx.post(
            f"{base}/graphql", json={"query": LAUNCH, "variables": {"params": params}}, timeout=30
        ).json()
    except httpx.HTTPError:
        return None
    launched = (answer.get("data") or {}).get("launchRun") or {}
    if launched.get("__typename") != "LaunchRunSuccess":
        return None
    return str(launched["run"]["runId"])
