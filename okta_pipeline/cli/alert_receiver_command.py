"""`okta-pipeline alert-receiver`: the endpoint OpenSearch Alerting's webhook actions post to."""

from __future__ import annotations

import argparse
import os
import sys

from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.lib.alerts.config import settings_from_environment
from okta_pipeline.lib.alerts.delivery import Deliverer
from okta_pipeline.lib.alerts.intake import AlertIntake
from okta_pipeline.lib.alerts.ledger import LEDGER_INDEX, Ledger
from okta_pipeline.lib.alerts.receiver import MIN_SECRET_LENGTH, AlertReceiver
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.findings import FINDINGS_PREFIX
from okta_pipeline.lib.opensearch.connection import connect
from okta_pipeline.lib.opensearch.okta_index import TEMPLATE_NAME, daily_indices

SECRET_VARIABLE = "OKTA_PIPELINE_RECEIVER_SECRET"  # noqa: S105 - a variable's name


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "alert-receiver",
        help="receive OpenSearch Alerting webhook actions and deliver them as findings",
        description="Serves POST /alerts. Each request must carry the shared secret from "
        f"{SECRET_VARIABLE}, as the X-Okta-Pipeline-Token header or as an "
        "X-Okta-Pipeline-Signature: sha256=<HMAC-SHA256 of the body>. An alert becomes the "
        "finding the pipeline would write for the same detection, entity and window, and goes "
        "through the same delivery ledger: one incident, one ticket. Jira and Slack are "
        "configured by the same variables as the pipeline (see the README).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--index-prefix", default=TEMPLATE_NAME, help="Okta log indices' prefix")
    parser.add_argument("--findings-prefix", default=FINDINGS_PREFIX)
    parser.add_argument("--ledger-index", default=LEDGER_INDEX)
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    secret = os.environ.get(SECRET_VARIABLE, "")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"set {SECRET_VARIABLE} to a random secret of at least {MIN_SECRET_LENGTH} "
            "characters (for example: openssl rand -hex 32), and give the same one to the "
            "monitors' webhook destination"
        )
    settings = settings_from_environment(os.environ)
    client = connect(ensure_cluster())
    ledger = Ledger(client, args.ledger_index)
    ledger.ensure_index()
    destinations = settings.destinations()
    logs_index = daily_indices(args.index_prefix)
    deliverer = Deliverer(
        ledger,
        destinations,
        routes=settings.routes,
        suppression=settings.suppression,
        dashboards_url=settings.dashboards_url,
        logs_index=logs_index,
    )
    intake = AlertIntake(client, load_catalog(), deliverer, logs_index, args.findings_prefix)
    receiver = AlertReceiver(secret, intake, args.host, args.port)
    configured = ", ".join(sorted(destinations.names())) or "none (alerts are stored only)"
    print(f"Receiving alerts on {receiver.url}; destinations: {configured}", file=sys.stderr)
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
        destinations.close()
    return 0
