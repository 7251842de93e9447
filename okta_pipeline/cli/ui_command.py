"""`okta-pipeline ui`: the Dagster UI (webserver and daemon) on the project's local instance,
with the local services the pipeline's definitions need when the environment names none."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from okta_pipeline.cli.local_instance import local_dagster_home
from okta_pipeline.cli.local_log_stream import local_log_stream, streaming_live
from okta_pipeline.cli.local_trail import live_trail, placeholder_credentials
from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.lib.aws_simulator.scenarios import CROSS_SOURCE_OKTA_SCENARIOS
from okta_pipeline.lib.aws_simulator.trail import SimulatedTrail
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.log_stream import ExtendableSource
from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg

WORKSPACE = "workspace.yaml"
DEFAULT_LANDING = "landing"
# How long `dagster dev` gets to stop its webserver, daemon and code server before they are
# killed: the whole stop stays within 15 seconds of Ctrl-C.
STOP_GRACE_SECONDS = 10.0
# The simulated trail's history when the UI starts (the demo's default two hours, with room).
LOCAL_TRAIL_HISTORY = timedelta(hours=6)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "ui",
        help="open the Dagster UI on the project's local instance (where the demo's runs are)",
        description="Runs `dagster dev -w workspace.yaml` on the local Dagster instance "
        "(.dagster_home, or DAGSTER_HOME), with the local OpenSearch node unless OPENSEARCH_URL "
        "is set, and a simulated Okta org unless OKTA_BASE_URL is set, streaming its log to a "
        "local EventBridge bus and SQS queue unless OKTA_PIPELINE_LOG_STREAM_QUEUE_URL is set, "
        "whose AWS accounts' CloudTrail is a local trail bucket unless "
        "OKTA_PIPELINE_CLOUDTRAIL_ROOT is set. "
        "Ctrl-C stops it all.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated org")
    parser.add_argument("--events-per-minute", type=float, default=60.0)
    parser.set_defaults(handler=_ui)


def _ui(args: argparse.Namespace) -> int:
    project = Path.cwd()
    if not (project / WORKSPACE).is_file():
        raise ValueError(
            f"no {WORKSPACE} here: run `okta-pipeline ui` (or `make ui`) from the project's "
            "directory"
        )
    home = local_dagster_home(os.environ, project)
    with ExitStack() as stack:
        env = stack.enter_context(local_services(os.environ, args.seed, args.events_per_minute))
        env["DAGSTER_HOME"] = str(home)
        command = [
            str(Path(sys.executable).with_name("dagster")),
            *("dev", "-w", WORKSPACE, "-h", args.host, "-p", str(args.port)),
        ]
        _progress(f"Dagster instance: {home}")
        _progress(f"Dagster UI: http://{args.host}:{args.port} (Ctrl-C stops it)")
        return run_until_stopped(command, env)


@contextmanager
def local_services(
    environ: Mapping[str, str], seed: int, events_per_minute: float
) -> Iterator[dict[str, str]]:
    """The environment the definitions read, with the local node and a simulated org standing
    in for what `environ` does not name."""
    env = dict(environ)
    env.setdefault("OKTA_PIPELINE_LANDING_ROOT", DEFAULT_LANDING)
    if not env.get("OPENSEARCH_URL", "").strip():
        env["OPENSEARCH_URL"] = ensure_cluster().url
    _progress(f"OpenSearch: {env['OPENSEARCH_URL']}")
    if env.get("OKTA_BASE_URL", "").strip():
        _progress(f"Okta: {env['OKTA_BASE_URL']}")
        yield env
        return
    token = secrets.token_urlsafe(24)
    options = SimulatorOptions(
        seed=seed, events_per_minute=events_per_minute, api_tokens=frozenset({token})
    )
    org = SimulatedOrg(
        seed=seed,
        events_per_minute=events_per_minute,
        delay=options.persistence,
        scenarios=SCENARIOS + CROSS_SOURCE_OKTA_SCENARIOS,
    )
    source = ExtendableSource(org)
    app = build_app(options, source=source)
    with SimulatorServer(app) as server, ExitStack() as stack:
        env.update(OKTA_BASE_URL=server.base_url, OKTA_API_TOKEN=token, OKTA_AUTH_METHOD="ssws")
        _progress(f"Okta: a simulated org (seed {seed}) on {server.base_url}")
        if not env.get("OKTA_PIPELINE_LOG_STREAM_QUEUE_URL", "").strip():
            stream = stack.enter_context(local_log_stream(source, seed, "okta-ui-log-stream"))
            app.log_streams = stream.streamer
            stack.enter_context(streaming_live(stream))
            env.update(stream.environment())
            _progress(
                f"Okta's log stream: the org streams its events as they are published to a "
                f"local EventBridge bus and SQS queue ({stream.aws.endpoint_url}); the "
                "log_stream_queue_sensor drains them"
            )
        if not env.get("OKTA_PIPELINE_CLOUDTRAIL_ROOT", "").strip():
            since = datetime.now(UTC) - LOCAL_TRAIL_HISTORY
            trail = stack.enter_context(live_trail(SimulatedTrail(org), since))
            stack.enter_context(placeholder_credentials(env))
            # botocore reads the S3 endpoint from AWS_ENDPOINT_URL_S3: the runs reach the local
            # trail bucket with no setting of the pipeline's own.
            env.update(
                OKTA_PIPELINE_CLOUDTRAIL_ROOT=trail.root, AWS_ENDPOINT_URL_S3=trail.endpoint_url
            )
            _progress(
                f"CloudTrail: the simulated AWS accounts' trail in {trail.root} (a local S3 on "
                f"{trail.endpoint_url}), {trail.delivery.objects} log files since "
                f"{since:%Y-%m-%d %H:%M} UTC and each new one as it comes due"
            )
        yield env


def run_until_stopped(command: list[str], env: Mapping[str, str]) -> int:
    """Run `command` in a session of its own until it exits, or until this process is told to
    stop (SIGINT, SIGTERM). Either way, SIGINT goes to the whole session, as a terminal's Ctrl-C
    does: signalled alone, `dagster dev` would exit while its code server waits for the runs in
    progress, for minutes if Okta or OpenSearch stopped answering. What is still there after
    the grace time is killed."""
    child = subprocess.Popen(command, env=dict(env), start_new_session=True)
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while child.poll() is None and not stopping:
            time.sleep(0.2)
        _signal_group(child.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while _group_alive(child.pid) and time.monotonic() < deadline:
            child.poll()  # reap `dagster dev`, or it keeps the group alive as a zombie
            time.sleep(0.1)
    finally:
        if _group_alive(child.pid):
            _progress("Dagster did not stop in time: killing what is left of it")
            _signal_group(child.pid, signal.SIGKILL)
        child.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if stopping else child.returncode


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: an exited child of
    `dagster dev` waits for its reaper, which where this runs as a container's first process
    may never come."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: any member, zombie or not
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _signal_group(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
