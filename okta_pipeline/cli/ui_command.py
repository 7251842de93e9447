"""`okta-pipeline ui`: the Dagster UI (webserver and daemon) on the project's local instance,
with the local services the pipeline's definitions need when the environment names none."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import FrameType

from okta_pipeline.cli.local_instance import local_dagster_home
from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg

WORKSPACE = "workspace.yaml"
DEFAULT_LANDING = "landing"
# How long `dagster dev` gets to stop its webserver, daemon and code server before they are
# killed: the whole stop stays within 15 seconds of Ctrl-C.
STOP_GRACE_SECONDS = 10.0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "ui",
        help="open the Dagster UI on the project's local instance (where the demo's runs are)",
        description="Runs `dagster dev -w workspace.yaml` on the local Dagster instance "
        "(.dagster_home, or DAGSTER_HOME), with the local OpenSearch node unless OPENSEARCH_URL "
        "is set, and a simulated Okta org unless OKTA_BASE_URL is set. Ctrl-C stops it all.",
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
    org = SimulatedOrg(seed=seed, events_per_minute=events_per_minute, delay=options.persistence)
    with SimulatorServer(build_app(options, source=org)) as server:
        env.update(OKTA_BASE_URL=server.base_url, OKTA_API_TOKEN=token, OKTA_AUTH_METHOD="ssws")
        _progress(f"Okta: a simulated org (seed {seed}) on {server.base_url}")
        yield env


def run_until_stopped(command: list[str], env: Mapping[str, str]) -> int:
    """Run `command` in a session of its own until it exits, or until this process is told to
    stop (SIGINT, SIGTERM): then ask it to stop, and kill what is left after the grace time."""
    child = subprocess.Popen(command, env=dict(env), start_new_session=True)
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        _signal_group(child.pid, signal.SIGINT)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping:
                    try:
                        code = child.wait(timeout=STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        _progress("Dagster did not stop in time: killing it")
                        code = -signal.SIGKILL
                    break
    finally:
        _signal_group(child.pid, signal.SIGKILL)  # whatever is left of the session
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if stopping else code


def _signal_group(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
