"""`okta-pipeline opensearch up|down|status`: the local node, or the configured cluster."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from okta_pipeline.lib.cluster_endpoint import (
    describe_components,
    external_endpoint,
)
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("opensearch", help="run or inspect the local OpenSearch node")
    actions = parser.add_subparsers(dest="action", required=True)

    up = actions.add_parser("up", help="provision (first time) and start the local node")
    up.add_argument("--port", type=int, default=node.DEFAULT_PORT, help="HTTP port on 127.0.0.1")
    up.add_argument("--heap", default=node.DEFAULT_HEAP, help="JVM heap, e.g. 512m or 1g")
    up.add_argument(
        "--refresh",
        action="store_true",
        help="retry the plugins that could not be had before (Maven zips, or source builds)",
    )
    up.set_defaults(handler=_up)

    down = actions.add_parser("down", help="stop the local node (by its pid, nothing else)")
    down.set_defaults(handler=_down)

    status = actions.add_parser("status", help="whether the node runs, and its plugins")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_status)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_cluster(
    port: int = node.DEFAULT_PORT, heap: str = node.DEFAULT_HEAP
) -> OpenSearchSettings:
    """The cluster named by OPENSEARCH_URL, or the local node, started when it is not running."""
    external = external_endpoint(os.environ)
    if external is not None:
        progress(f"OPENSEARCH_URL is set: using {external.url}; nothing provisioned.")
        return external
    running = node.start(NodeLayout.default(os.environ), port=port, heap=heap, progress=progress)
    return OpenSearchSettings(running.url)


def _up(args: argparse.Namespace) -> int:
    external = external_endpoint(os.environ)
    if external is not None:
        progress(f"OPENSEARCH_URL is set: using {external.url}; nothing provisioned.")
        print(external.url)
        return 0
    layout = NodeLayout.default(os.environ)
    running = node.start(
        layout, port=args.port, heap=args.heap, progress=progress, refresh=args.refresh
    )
    if not running.started:
        progress(f"OpenSearch is already running (pid {running.pid}).")
    print(running.url)
    return 0


def _down(args: argparse.Namespace) -> int:
    if external_endpoint(os.environ) is not None:
        progress("OPENSEARCH_URL is set: that cluster is not managed here; nothing stopped.")
    layout = NodeLayout.default(os.environ)
    if node.stop(layout):
        print("OpenSearch stopped.")
    else:
        print("OpenSearch is not running.")
    return 0


def _status(args: argparse.Namespace) -> int:
    external = external_endpoint(os.environ)
    if external is not None:
        components = describe_components(external)
        report: dict[str, object] = {
            "running": True,
            "url": external.url,
            "managed": False,
            **asdict(components),
        }
    else:
        report = {"managed": True, **asdict(node.status(NodeLayout.default(os.environ)))}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_format_status(report))
    return 0 if report["running"] else 3


def _format_status(report: dict[str, object]) -> str:
    if not report["running"]:
        lines = ["OpenSearch is not running. Start it with `okta-pipeline opensearch up`."]
        if report["plugins"] or report["modules"]:
            lines.append("The local node was assembled with:")
    else:
        owner = "local node" if report["managed"] else "external cluster (OPENSEARCH_URL)"
        lines = [f"OpenSearch {report['version']} is running at {report['url']} ({owner})"]
    origins = report.get("plugin_origins") or {}
    plugins = [
        f"{name} ({origins[name]})" if isinstance(origins, dict) and name in origins else name
        for name in _as_list(report["plugins"])
    ]
    if plugins or report["running"]:
        lines.append("  plugins:")
        lines.extend(f"    {plugin}" for plugin in plugins or ["none"])
        lines.append(f"  modules: {', '.join(_as_list(report['modules'])) or 'none'}")
    unavailable = report.get("unavailable_plugins") or {}
    if isinstance(unavailable, dict) and unavailable:
        lines.append("  missing plugins:")
        lines.extend(f"    {name}: {why}" for name, why in sorted(unavailable.items()))
    return "\n".join(lines)


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
