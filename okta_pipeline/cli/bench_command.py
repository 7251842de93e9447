"""`okta-pipeline bench`: measure the pipeline side by side with baselines (see bench/)."""

from __future__ import annotations

import argparse
import os

from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "bench",
        help="run the benchmarks (extraction, loading, cloudtrail, backfill, scaling, detection)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in minutes")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace) -> int:
    from bench import run  # the benchmarks ship with the project but load only when asked for

    layout = NodeLayout.default(os.environ)
    was_running = external_endpoint(os.environ) is not None or node.running_node(layout) is not None
    try:
        return run.main(ensure_cluster(), quick=args.quick, as_json=args.json)
    finally:
        if not was_running:  # leave the machine as we found it
            node.stop(layout)
