"""Entry point of the `okta-pipeline` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import httpx

from okta_pipeline.cli import (
    alert_receiver_command,
    bench_command,
    demo_command,
    detections_command,
    opensearch_commands,
    simulate_command,
    sql_command,
    ui_command,
)
from okta_pipeline.lib.detections.engine import DetectionFailedError
from okta_pipeline.lib.local_opensearch.assembly import AssemblyError
from okta_pipeline.lib.local_opensearch.java import JavaNotFoundError
from okta_pipeline.lib.local_opensearch.maven import MavenError
from okta_pipeline.lib.local_opensearch.node import NodeError
from okta_pipeline.lib.okta.errors import OktaError

# Failures with a message written for the user: print it, no traceback.
_USER_ERRORS = (
    AssemblyError,
    DetectionFailedError,
    JavaNotFoundError,
    MavenError,
    NodeError,
    OktaError,
    ValueError,
    httpx.HTTPError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okta-pipeline", description="Okta System Log to OpenSearch, as Dagster assets."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    opensearch_commands.register(commands)
    demo_command.register(commands)
    simulate_command.register(commands)
    detections_command.register(commands)
    alert_receiver_command.register(commands)
    bench_command.register(commands)
    ui_command.register(commands)
    sql_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except _USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
