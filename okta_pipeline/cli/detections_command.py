"""`okta-pipeline detections list|run`: the catalog, and one detection over history."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from okta_pipeline.cli.opensearch_commands import ensure_cluster
from okta_pipeline.cli.time_arguments import aligned_time
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.docs import catalog_markdown
from okta_pipeline.lib.detections.findings import FINDINGS_PREFIX, ensure_findings_template
from okta_pipeline.lib.detections.model import Detection, Example
from okta_pipeline.lib.detections.noise import NoiseMeasurement, measured_noise
from okta_pipeline.lib.detections.revision import revise_findings
from okta_pipeline.lib.opensearch.connection import connect
from okta_pipeline.lib.opensearch.okta_index import TEMPLATE_NAME, daily_indices


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("detections", help="list the detection catalog or run one")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="the detections in the catalog")
    listing.add_argument("--json", action="store_true", help="print one JSON array")
    listing.set_defaults(handler=_list)

    docs = actions.add_parser("docs", help="print docs/detections.md, generated from the catalog")
    docs.set_defaults(handler=_docs)

    run = actions.add_parser(
        "run",
        help="evaluate detections over past windows and write their findings",
        description="Evaluates through the same code as the okta_detections asset: findings "
        "have the same ids, so running over windows the pipeline already evaluated changes "
        "nothing, and a new detection is backfilled.",
    )
    run.add_argument("--id", dest="ids", action="append", required=True, help="detection id")
    run.add_argument("--start", type=aligned_time, required=True, help="UTC, 5-minute aligned")
    run.add_argument("--end", type=aligned_time, required=True, help="exclusive")
    run.add_argument("--index-prefix", default=TEMPLATE_NAME, help="Okta log indices' prefix")
    run.add_argument("--findings-prefix", default=FINDINGS_PREFIX)
    run.add_argument("--dry-run", action="store_true", help="print findings, write nothing")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=_run)


def describe(detection: Detection, noise: NoiseMeasurement | None = None) -> dict[str, Any]:
    """One detection as `detections list --json` prints it; `noise_per_org_day` is None where
    the benchmark has not measured it (a detection added since, or one that reads CloudTrail)."""
    return {
        "id": detection.id,
        "version": detection.version,
        "title": detection.title,
        "kind": detection.kind.value,
        "severity": detection.severity.value,
        "tactics": list(detection.tactics),
        "techniques": list(detection.techniques),
        "entity": list(detection.entity),
        "fields": list(detection.fields),
        "description": detection.description,
        "false_positives": list(detection.false_positives),
        "response": detection.response,
        "enabled": detection.enabled,
        "examples": [{"name": e.name, "expect": _expected(e)} for e in detection.examples],
        "noise_per_org_day": noise.rate(detection.id) if noise else None,
        "source": f"okta_pipeline/detections/{detection.source}",
    }


def _expected(example: Example) -> str:
    if not example.expect_finding:
        return "nothing"
    return "suppressed finding" if example.suppressed else "finding"


def _list(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.json:
        noise = measured_noise()
        print(json.dumps([describe(d, noise) for d in catalog], indent=2))
        return 0
    width = max(len(d.id) for d in catalog)
    for detection in catalog:
        print(
            f"{detection.id:<{width}}  {detection.kind.value:<12}  {detection.severity.value:<8}  "
            f"{','.join(detection.techniques):<20}  {detection.title}"
        )
    print(f"{len(catalog)} detections")
    return 0


def _docs(args: argparse.Namespace) -> int:
    sys.stdout.write(catalog_markdown(load_catalog()))
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.start >= args.end:
        raise ValueError("--start must be before --end")
    chosen = load_catalog().select(args.ids)
    client = connect(ensure_cluster())
    logs = daily_indices(args.index_prefix)
    if not args.dry_run:
        ensure_findings_template(client, args.findings_prefix)
    revision = revise_findings(
        client,
        logs,
        args.findings_prefix,
        chosen,
        args.start,
        args.end,
        evaluated_at=datetime.now(UTC),
        dry_run=args.dry_run,
    )
    written = revision.written
    rows = [
        {
            "finding_id": f.id,
            "detection": f.detection.id,
            "window": f.window.strftime("%Y-%m-%dT%H:%MZ"),
            "status": f.status,
            "count": f.count,
            "summary": f.summary,
            "evidence": [e.uuid for e in f.evidence],
            **({"exception": f.exception.name} if f.exception else {}),
        }
        for f in revision.findings
    ]
    superseded = [
        {"finding_id": s.finding.id, "detection": s.finding.detection_id, "by": list(s.by)}
        for s in revision.superseded
    ]
    if args.json:
        report = {
            "start": args.start.isoformat(),
            "end": args.end.isoformat(),
            "detections": [d.id for d in chosen],
            "findings": rows,
            "new": len(written.created) if written else None,
            "superseded": superseded,
            "opensearch_requests": revision.evaluation.requests,
        }
        print(json.dumps(report, indent=2))
        return 0
    for row in rows:
        print(f"{row['window']}  {row['detection']}  {row['summary']}")
    outcome = "not written (dry run)" if written is None else f"{len(written.created)} new"
    gone = f", {len(superseded)} superseded" if superseded else ""
    print(
        f"{len(rows)} findings over {args.start:%Y-%m-%d %H:%M} to {args.end:%Y-%m-%d %H:%M} "
        f"UTC ({outcome}{gone}) in {revision.evaluation.requests} requests",
        file=sys.stderr,
    )
    return 0
