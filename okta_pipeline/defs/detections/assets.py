"""`okta_detections`: the catalog evaluated per 5-minute window into `okta-findings-*`."""

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import dagster as dg
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.defs.asset_attributes import HOLDS_PERSONAL_DATA, OWNERS
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.okta.assets import DAY_OF_WINDOWS
from okta_pipeline.defs.okta.automation import follow_upstream
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT, five_minute_partitions
from okta_pipeline.defs.window_results import (
    WindowCheck,
    WindowEvent,
    add_window_metadata,
    materialize_windows,
    tag_run,
    window_check_spec,
)
from okta_pipeline.lib.cloudtrail.index import daily_indices as cloudtrail_indices
from okta_pipeline.lib.correlation.identity_link import sessions_indices
from okta_pipeline.lib.detections.catalog import catalog_digest
from okta_pipeline.lib.detections.exceptions import DetectionException
from okta_pipeline.lib.detections.findings import (
    SUPPRESSED,
    ensure_findings_template,
    missing_evidence,
)
from okta_pipeline.lib.detections.model import Detection
from okta_pipeline.lib.detections.revision import by_window, revise_findings
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import windows_between

QUERIES_ACCEPTED = "queries_accepted"
EVIDENCE_IN_LOGS = "evidence_in_logs"


def detection_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    """The checks every detection asset carries, per window."""
    return [
        window_check_spec(
            QUERIES_ACCEPTED,
            asset,
            "Every detection compiled, and OpenSearch accepts each of its queries; a refused "
            "detection is skipped (and named here), the others still write their findings",
        ),
        window_check_spec(
            EVIDENCE_IN_LOGS,
            asset,
            "Every finding's evidence is indexed: Okta uuids in okta-logs, CloudTrail eventIDs "
            "in cloudtrail",
        ),
    ]


# Evaluate each window once its events are loaded and its blocking checks passed; follow
# re-loads (lookback re-fetches, catch-ups, the daily re-fetch) like the loader does.
detect_condition = follow_upstream(after_blocking_checks=True)


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[opensearch_okta_logs],
    pool="opensearch",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=detect_condition,
    code_version=catalog_digest(),
    group_name="detections",
    kinds={"opensearch", "python"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    check_specs=detection_check_specs("okta_detections"),
)
def okta_detections(
    context: dg.AssetExecutionContext,
    opensearch: OpenSearchResource,
    detections: DetectionsResource,
) -> Iterator[WindowEvent]:
    """A row is one finding: a detection of the catalog that matched one entity (a user, an IP
    address, a session) in one window, with its severity and the uuids of the events that are
    its evidence; documents of `okta-findings-YYYY.MM.DD`. Ids are deterministic: re-runs and
    backfills converge."""
    yield from detect_windows(
        context,
        opensearch,
        tuple(d for d in detections.selected() if not d.cross_source),
        run_tag="detections",
        exceptions=detections.exceptions_by_detection(),
    )


def detect_windows(
    context: dg.AssetExecutionContext,
    opensearch: OpenSearchResource,
    chosen: tuple[Detection, ...],
    run_tag: str,
    with_cloudtrail: bool = False,
    exceptions: Mapping[str, tuple[DetectionException, ...]] | None = None,
) -> Iterator[WindowEvent]:
    """Evaluate `chosen` over the run's windows into the findings indices, with the checks
    every detection asset carries; `with_cloudtrail` gives cross-source detections CloudTrail
    and the identity links. Findings that no longer hold are marked superseded."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    client = opensearch.client()
    logs = daily_indices(opensearch.index_prefix)
    cloudtrail = cloudtrail_indices(opensearch.cloudtrail_prefix) if with_cloudtrail else None
    sessions = sessions_indices(opensearch.sessions_prefix) if with_cloudtrail else None
    evaluated, rejected = accepted_detections(context.log, client, logs, chosen)
    ensure_findings_template(client, opensearch.findings_prefix, opensearch.replicas)
    revision = revise_findings(
        client,
        logs,
        opensearch.findings_prefix,
        evaluated,
        start,
        end,
        evaluated_at=datetime.now(UTC),
        cloudtrail_index=cloudtrail,
        sessions_index=sessions,
        exceptions=exceptions,
    )
    assert revision.written is not None
    client.indices.refresh(
        index=daily_indices(opensearch.findings_prefix), params={"ignore_unavailable": "true"}
    )
    evaluation = revision.evaluation
    missing = missing_evidence(client, logs, revision.findings, cloudtrail)

    new = set(revision.written.created)
    per_window = evaluation.by_window()
    superseded = by_window(revision.superseded)
    checks: list[WindowCheck] = []
    for moment in windows_between(start, end):
        partition = moment.strftime(PARTITION_FORMAT)
        in_window = per_window.get(moment, [])
        counts = Counter(f.detection.id for f in in_window)
        add_window_metadata(
            context,
            partition,
            {
                "findings": len(in_window),
                "new_findings": sum(1 for f in in_window if f.id in new),
                "suppressed": sum(1 for f in in_window if f.status == SUPPRESSED),
                "superseded": superseded.get(moment, 0),
                "findings_by_detection": dg.MetadataValue.json(dict(sorted(counts.items())))
                if counts
                else None,
            },
        )
        missing_here = {f.id: missing[f.id] for f in in_window if f.id in missing}
        checks += [
            WindowCheck(
                QUERIES_ACCEPTED,
                partition,
                passed=not rejected,
                severity=dg.AssetCheckSeverity.ERROR,
                description=rejected_description(rejected) if rejected else None,
                metadata={
                    "detections": len(chosen),
                    "evaluated": len(evaluated),
                    "rejected": rejected,
                },
            ),
            WindowCheck(
                EVIDENCE_IN_LOGS,
                partition,
                passed=not missing_here,
                description=f"{len(missing_here)} findings cite events that are not indexed"
                if missing_here
                else None,
                metadata={"missing": dict(list(missing_here.items())[:20])},
            ),
        ]
    if revision.later or revision.superseded:
        context.log.info(
            f"Revised stored findings: {len(revision.superseded)} superseded, "
            f"{len(revision.later)} of the windows after the range written again"
        )
    context.log.info(
        f"Evaluated {len(evaluated)} detections over {start:%Y-%m-%d %H:%M} to "
        f"{end:%Y-%m-%d %H:%M} UTC in {evaluation.requests} requests: "
        f"{len(evaluation.findings)} findings ({len(new)} new)"
    )
    tag_run(
        context,
        run_tag,
        {
            "evaluated": len(evaluated),
            "rejected": len(rejected),
            "findings": len(evaluation.findings),
            "findings_new": len(new),
            "superseded": len(revision.superseded),
            "requests": evaluation.requests,
        },
    )
    yield from materialize_windows(context, checks)


def accepted_detections(
    log: dg.DagsterLogManager, client: OpenSearch, logs: str, chosen: tuple[Detection, ...]
) -> tuple[tuple[Detection, ...], dict[str, str]]:
    """The detections of `chosen` whose queries OpenSearch accepts, and the refused ones with
    the cluster's reason, logged as an error. A refused detection is skipped (evaluating it
    would fail the whole evaluation; its stored findings stay as they are), so the others
    still write their findings."""
    rejected = _rejected_queries(client, logs, chosen)
    if rejected:
        log.error(f"{rejected_description(rejected)}; the other detections were evaluated")
    return tuple(d for d in chosen if d.id not in rejected), rejected


def rejected_description(rejected: Mapping[str, str]) -> str:
    """Each refused detection with the first line of the cluster's reason (the whole reason
    is in the check's metadata), and what to do about it."""
    reasons = "; ".join(
        f"{d} ({(reason.splitlines() or [''])[0][:300]})" for d, reason in sorted(rejected.items())
    )
    return (
        "Not evaluated, OpenSearch refused their queries (fix them, then re-run these "
        f"windows): {reasons}"
    )


def _rejected_queries(
    client: OpenSearch, logs: str, chosen: tuple[Detection, ...]
) -> dict[str, str]:
    """The detections whose query OpenSearch refuses to parse against the logs' mapping, with
    its reason. With no logs index yet there is no mapping to check against: nothing is
    refused (every query compiled when the catalog loaded)."""
    if not client.indices.get_alias(index=logs, params={"ignore_unavailable": "true"}):
        return {}
    rejected = {}
    for detection in chosen:
        for query in detection.queries:
            try:
                answer = client.indices.validate_query(
                    index=logs,
                    body={"query": query},
                    params={"explain": "true", "ignore_unavailable": "true"},
                )
            except os_errors.TransportError as error:
                rejected[detection.id] = str(error.error)
                continue
            if not answer.get("valid", False):
                explanations = answer.get("explanations") or [{}]
                rejected[detection.id] = str(explanations[0].get("error", "invalid"))
    return rejected
