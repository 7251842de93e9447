"""`okta-pipeline demo`: bring up what the pipeline needs and say where everything is."""

from __future__ import annotations

import argparse
import json

from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.lib.cluster_endpoint import describe_components

DAGSTER_UI_COMMAND = "dagster dev -w workspace.yaml"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="start the local stack and print what it did")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    endpoint = ensure_cluster()
    components = describe_components(endpoint)
    summary = {
        "opensearch": {
            "url": endpoint.url,
            "version": components.version,
            "plugins": components.plugins,
        },
        "dagster_ui": DAGSTER_UI_COMMAND,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"OpenSearch {components.version} is running at {endpoint.url}")
    print(f"  plugins: {', '.join(components.plugins) or 'none'}")
    print("Open the Dagster UI with:")
    print(f"  .venv/bin/{DAGSTER_UI_COMMAND}    # then browse http://127.0.0.1:3000")
    print("Stop the local node with: .venv/bin/okta-pipeline opensearch down")
    return 0
