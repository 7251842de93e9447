"""Pipeline runs in child processes, started, watched and killed by the fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child(
    module: str, args: list[str], env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m okta_pipeline_tests.faults.<module> ARGS` from the project's root."""
    return subprocess.Popen(
        [sys.executable, "-m", f"okta_pipeline_tests.faults.{module}", *args],
        cwd=ROOT,
        # A child records its runs in an instance only when `env` names one.
        env={
            **{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finished(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for the process; its exit code, with its stderr in the failure if it timed out."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(stderr_of(process)) from None


def stderr_of(process: subprocess.Popen[bytes]) -> str:
    return process.stderr.read().decode(errors="replace")[-4000:] if process.stderr else ""


def wait_until(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float, what: str
) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        assert process.poll() is None, f"the run ended before {what}: {stderr_of(process)}"
        assert time.monotonic() < deadline, f"the run never reached {what}"
        time.sleep(0.1)


def kill_when(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float, what: str
) -> None:
    wait_until(process, ready, limit, what)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
