"""`okta-pipeline opensearch up|down|status`: the local node, or the configured cluster; and
`grant-run-role`: the pipeline's security role on a cluster with fine-grained access control."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, replace

from okta_pipeline.defs.deployment import DeploymentSettings, DeploymentSettingsError
from okta_pipeline.lib.cluster_endpoint import (
    describe_components,
    external_endpoint,
)
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect
from okta_pipeline.lib.opensearch.security_roles import (
    ROLE_NAME,
    SecuritySetupError,
    check_backend_roles,
    grant_run_role,
    role_document,
)


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

    grant = actions.add_parser(
        "grant-run-role",
        help=f"map the runs' IAM role to the {ROLE_NAME} security role (run as the admin)",
        description=f"Puts the {ROLE_NAME} role (what the pipeline does, nothing more) and maps "
        "the given backend roles to it, through the security plugin's REST API; takes them out "
        "of every other role mapping. With OKTA_PIPELINE_CLOUDTRAIL_ROOT set (as for the "
        "definitions) the role also covers the CloudTrail and identity link indices. Run it as "
        "the domain's master user (the ECS setup task does); running it again changes nothing.",
    )
    grant.add_argument(
        "--backend-role",
        dest="backend_roles",
        action="append",
        required=True,
        help="IAM role ARN of the pipeline's runs (repeat for more)",
    )
    grant.add_argument("--url", help="the cluster (default: OPENSEARCH_URL, else the local node)")
    grant.add_argument(
        "--aws-region", help="sign with SigV4 for this region (default: OPENSEARCH_AWS_REGION)"
    )
    grant.add_argument(
        "--dry-run", action="store_true", help="print the role and mapping; contact nothing"
    )
    grant.set_defaults(handler=_grant_run_role)


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


def _grant_run_role(args: argparse.Namespace) -> int:
    try:
        check_backend_roles(args.backend_roles)
        # The definitions have the CloudTrail assets only when the deployment names a trail.
        deployment = DeploymentSettings.from_environment(os.environ)
        role = role_document(cloudtrail=deployment.cloudtrail_root is not None)
        if args.dry_run:
            mapping = {"backend_roles": sorted(set(args.backend_roles)), "users": [], "hosts": []}
            print(json.dumps({"role": {ROLE_NAME: role}, "mapping": mapping}, indent=2))
            return 0
        settings = _security_endpoint(args)
        for line in grant_run_role(connect(settings), args.backend_roles, settings.url, role):
            print(line)
    except (SecuritySetupError, DeploymentSettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _security_endpoint(args: argparse.Namespace) -> OpenSearchSettings:
    """--url or OPENSEARCH_URL (with its credentials), else the running local node; SigV4 when
    a region is given."""
    url = args.url or os.environ.get("OPENSEARCH_URL", "").strip()
    settings = external_endpoint({**os.environ, "OPENSEARCH_URL": url}) if url else None
    if settings is None:
        running = node.running_node(NodeLayout.default(os.environ))
        if running is None:
            raise SecuritySetupError("no cluster: give --url or set OPENSEARCH_URL")
        settings = OpenSearchSettings(running.url)
    region = args.aws_region or os.environ.get("OPENSEARCH_AWS_REGION", "").strip()
    return replace(settings, aws_region=region) if region else settings


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
