"""The demo and `okta-pipeline ui` as a user runs them (from the project's directory), in an
instance, a landing zone and indices of the test's own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
UI_START_SECONDS = 120.0
# `okta-pipeline ui` stops within 15 seconds of Ctrl-C; a little more before the test says so.
UI_STOP_SECONDS = 30.0


def run_demo(env: Mapping[str, str], *args: str) -> dict[str, Any]:
    """`okta-pipeline demo --json` from the project's directory: its summary."""
    return dict(json.loads(_project_command(env, ["okta-pipeline", "demo", "--json", *args], 600)))


def stop_instigators(env: Mapping[str, str], sensors: list[str], schedules: list[str]) -> None:
    """Record sensors and schedules as stopped in the instance DAGSTER_HOME names, before a
    daemon runs them (with `dagster sensor stop` and `dagster schedule stop`)."""
    commands = [["sensor", "stop", name] for name in sensors]
    commands += [["schedule", "stop", name] for name in schedules]
    for command in commands:
        _project_command(env, ["dagster", *command, "-w", "workspace.yaml"], 120)


def _project_command(env: Mapping[str, str], command: list[str], timeout: float) -> str:
    """Run one of the venv's commands from the project's directory; its standard output."""
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=PROJECT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningUi:
    url: str
    log: Path
    """Where the UI's output (webserver, daemon, code server, runs) goes."""
    process: subprocess.Popen[bytes]

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """The webserver's own GraphQL endpoint (what the UI's pages query)."""
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return dict(body["data"])


@contextmanager
def running_ui(
    env: Mapping[str, str], log: Path, stop_within: float = UI_STOP_SECONDS
) -> Iterator[RunningUi]:
    """`okta-pipeline ui` on a free port until the block ends; then Ctrl-C (SIGINT), and it
    must be gone in `stop_within` seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / "okta-pipeline"), "ui", "--port", str(port)],
            cwd=PROJECT,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C at the terminal reaches it through the teardown only.
            start_new_session=True,
        )
        try:
            _wait_until_serving(process, url, log)
            yield RunningUi(url, log, process)
        finally:
            process.send_signal(signal.SIGINT)
            started = time.monotonic()
            try:
                process.wait(timeout=stop_within)
            except subprocess.TimeoutExpired:
                # `dagster dev` runs in a session of its own, under okta-pipeline ui's.
                for group in (*_children(process.pid), process.pid):
                    with suppress(ProcessLookupError):
                        os.killpg(group, signal.SIGKILL)
                process.wait()
                raise AssertionError(
                    f"okta-pipeline ui was still running {stop_within:.0f}s after SIGINT "
                    f"(killed); its output: {log}"
                ) from None
            print(f"okta-pipeline ui stopped {time.monotonic() - started:.1f}s after SIGINT")


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + UI_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"okta-pipeline ui exited ({process.returncode}) before serving; its output:\n"
                + log.read_text(errors="replace")[-4000:]
            )
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url}/server_info did not answer in {UI_START_SECONDS:.0f}s: {log}")


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            # pid (comm) state ppid ...: comm may hold spaces, so split after its parenthesis.
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return children
