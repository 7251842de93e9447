"""`okta-pipeline bench`: measure the pipeline side by side with baselines (see bench/)."""

from __future__ import annotations

import argparse

from okta_pipeline.cli.opensearch_commands import ensure_cluster


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "bench", help="run the benchmarks (extraction, loading, backfill, scaling)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in minutes")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace) -> int:
    from bench import run  # the benchmarks ship with the project but load only when asked for

    return run.main(ensure_cluster(), quick=args.quick, as_json=args.json)
