"""Push beside polling: Okta's log stream drained from SQS into the same windows, within seconds.

A sensor looks only at the queue's depth and launches the drain job, one run at a time. The
job lands each event in its 5-minute window (union by uuid, as polling does), then indexes
those windows, evaluates the detections over them and delivers their alerts, all with the
same deterministic ids and ledger as the partitioned assets, so the window still open is
detected early and again when polling materializes it, without a duplicate finding or a second
alert. The drain never materializes a partition: a window is complete only once polling has
fetched it.
"""

import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from okta_pipeline.defs.alerts.assets import Delivered, deliver_findings
from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.detections.assets import accepted_detections
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.detections.findings import (
    Finding,
    ensure_findings_template,
    findings_index,
    write_findings,
)
from okta_pipeline.lib.detections.revision import revise_findings
from okta_pipeline.lib.landing.zone import WINDOW
from okta_pipeline.lib.log_stream import OKTA_PARTNER_PREFIX, drain_queue, queue_depth
from okta_pipeline.lib.log_stream.silence import SILENCE_MINUTES, judge_silence, silence_finding
from okta_pipeline.lib.opensearch.bulk_loader import OKTA_LOGS, DeadLetters, load_windows
from okta_pipeline.lib.opensearch.index_setup import ensure_template
from okta_pipeline.lib.opensearch.okta_index import daily_indices

DRAIN_JOB = "okta_log_stream_drain"
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


class LogStreamResource(dg.ConfigurableResource):
    """The SQS queue an EventBridge rule fills from Okta's partner event bus."""

    queue_url: str = Field(description="The queue the EventBridge rule sends Okta's events to")
    dead_letter_queue_url: str | None = Field(
        default=None, description="The queue's dead-letter queue (its redrive policy's target)"
    )
    endpoint_url: str | None = Field(
        default=None, description="A local stand-in's endpoint; unset on AWS"
    )
    source_prefix: str = Field(
        default=OKTA_PARTNER_PREFIX,
        description="The envelope `source` of this org's events, e.g. aws.partner/okta.com/acme/",
    )
    wait_seconds: int = Field(default=1, ge=0, le=20, description="SQS long-poll wait")

    @property
    def queue_name(self) -> str:
        return self.queue_url.rstrip("/").rsplit("/", 1)[-1]

    def sqs(self) -> Any:
        if self.endpoint_url:
            from okta_pipeline.lib.standins.s3 import local_client

            return local_client("sqs", self.endpoint_url)
        import boto3

        return boto3.client("sqs")  # region and credentials from the run's task role


@dg.op(description="Receive the queue until it is empty, landing each event in its window")
def drain_okta_log_stream(
    context: dg.OpExecutionContext, log_stream: LogStreamResource, landing: LandingZoneResource
) -> list[str]:
    report = drain_queue(
        log_stream.sqs(),
        log_stream.queue_url,
        landing.zone(),
        source_prefix=log_stream.source_prefix,
        wait_seconds=log_stream.wait_seconds,
    )
    if report.rejected:
        context.log.warning(
            f"{sum(report.rejected.values())} messages were not Okta events and were set aside "
            f"in {report.rejected_location}: {dict(report.rejected)}"
        )
    if report.delete_failures:
        context.log.warning(
            f"{report.delete_failures} messages could not be deleted after landing; they will "
            "come back, and landing them again changes nothing"
        )
    context.log.info(
        f"Drained {report.messages} messages: {report.events} events, {report.new} new, "
        f"{report.duplicates} already landed, into {len(report.windows)} windows"
    )
    context.add_output_metadata(
        {
            **report.summary(),
            "land_p50_seconds": report.latency(0.5),
            "land_p95_seconds": report.latency(0.95),
        }
    )
    return [moment.isoformat() for moment in sorted(report.windows)]


@dg.op(description="Index, detect and alert the windows the drain wrote (open ones included)")
def process_pushed_windows(
    context: dg.OpExecutionContext,
    windows: list[str],
    landing: LandingZoneResource,
    opensearch: OpenSearchResource,
    detections: DetectionsResource,
    alerts: AlertsResource,
) -> None:
    if not windows:
        context.log.info("No window was written: nothing to index or evaluate")
        return
    moments = [datetime.fromisoformat(w) for w in windows]
    start, end = min(moments), max(moments) + WINDOW
    zone = landing.zone()
    client = opensearch.client()
    ensure_template(client, opensearch.index_prefix, opensearch.shards, opensearch.replicas)
    key = f"_dead_letter/{opensearch.index_prefix}/log-stream-run-{context.run.run_id[:8]}.jsonl.gz"
    with zone.spooled(key) as spool:
        load = load_windows(
            client,
            ((moment, zone.iter_window_lines(moment)) for moment in moments),
            opensearch.index_prefix,
            DeadLetters(spool, location=zone.storage.location(key)),
            chunk_bytes=opensearch.bulk_chunk_bytes,
            sleep=opensearch.wait,
            source=OKTA_LOGS,
        )
    logs = daily_indices(opensearch.index_prefix)
    client.indices.refresh(index=logs)
    chosen = tuple(d for d in detections.selected() if not d.cross_source)
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
        exceptions=detections.exceptions_by_detection(),
    )
    client.indices.refresh(
        index=daily_indices(opensearch.findings_prefix), params={"ignore_unavailable": "true"}
    )
    searchable_at = time.time()
    delivered = deliver_findings(opensearch, alerts, start, end)
    context.add_output_metadata(
        {
            "findings": len(revision.evaluation.findings),
            "rejected_detections": dg.MetadataValue.json(rejected),
            "findings_searchable_at": dg.MetadataValue.timestamp(searchable_at),
            "alerts_delivered_at": dg.MetadataValue.timestamp(time.time()),
        }
    )
    context.log.info(
        f"Pushed windows {start:%H:%M} to {end:%H:%M} UTC: "
        f"{sum(w.indexed for w in load.windows.values())} documents indexed, "
        f"{len(revision.evaluation.findings)} findings, {delivered.report.summary()}"
    )
    if load.dead_lettered or load.failed:
        context.log.warning(load.summary())


@dg.job(
    name=DRAIN_JOB,
    description="Okta's log stream, from its SQS queue into the windows, the index, the "
    "findings and the alerts; launched by the queue's sensor, one run at a time",
    executor_def=dg.in_process_executor,  # seconds count: no process per step
    tags={"okta_pipeline/source": "log_stream"},
)
def log_stream_drain_job() -> None:
    process_pushed_windows(drain_okta_log_stream())


@dg.sensor(
    job=log_stream_drain_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches a drain when the log stream's queue holds messages and no drain runs",
)
def log_stream_queue_sensor(
    context: dg.SensorEvaluationContext, log_stream: LogStreamResource
) -> dg.RunRequest | dg.SkipReason:
    depth = queue_depth(log_stream.sqs(), log_stream.queue_url)
    if not depth:
        return dg.SkipReason("the log stream's queue is empty")
    running = context.instance.get_run_records(
        dg.RunsFilter(job_name=DRAIN_JOB, statuses=IN_PROGRESS), limit=1
    )
    if running:
        return dg.SkipReason(
            f"{depth} messages wait for the drain in progress ({running[0].dagster_run.run_id})"
        )
    return dg.RunRequest(tags={"okta_pipeline/queue_depth": str(depth)})


@dg.asset_check(
    asset=okta_system_log,
    name="log_stream_dead_letters",
    description="The log stream's dead-letter queue is empty; messages there were received "
    "too often without being landed, and the check says how to redrive them",
)
def log_stream_dead_letters(log_stream: LogStreamResource) -> dg.AssetCheckResult:
    if not log_stream.dead_letter_queue_url:
        return dg.AssetCheckResult(
            passed=True, description="no dead-letter queue configured", metadata={"depth": 0}
        )
    sqs = log_stream.sqs()
    depth = queue_depth(sqs, log_stream.dead_letter_queue_url)
    if not depth:
        return dg.AssetCheckResult(passed=True, metadata={"depth": 0})
    arn = sqs.get_queue_attributes(
        QueueUrl=log_stream.dead_letter_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{depth} log stream messages are in the dead-letter queue. Polling still "
        "lands their events; to land them now, fix what failed the drain (its runs' logs), then "
        f"redrive them: aws sqs start-message-move-task --source-arn {arn}",
        metadata={"depth": depth, "dead_letter_queue": log_stream.dead_letter_queue_url},
    )


@dg.asset_check(
    asset=okta_system_log,
    name="log_stream_delivering",
    description=f"Okta's log stream delivered events in the last {SILENCE_MINUTES} minutes"
    " whenever polling landed some. Silence means the stream was deactivated (Okta does so "
    "after two failed deliveries) or the rule or queue is broken; it fails the check and "
    "raises a finding, alerted once per silence through the findings' routing",
)
def log_stream_delivering(
    landing: LandingZoneResource,
    log_stream: LogStreamResource,
    opensearch: OpenSearchResource,
    alerts: AlertsResource,
) -> dg.AssetCheckResult:
    zone = landing.zone()
    now = datetime.now(UTC)
    silence = judge_silence(zone, now)
    metadata: dict[str, Any] = {
        "landed_events": silence.landed,
        "pushed_events": silence.pushed,
        "last_received": silence.last_received or "none",
    }
    if not silence.silent:
        return dg.AssetCheckResult(passed=True, metadata=metadata)
    finding = silence_finding(zone, log_stream.queue_name, silence, now)
    delivered = raise_finding(opensearch, alerts, finding, now)
    return dg.AssetCheckResult(
        passed=False,
        description=f"{silence.landed} events were landed in the last {SILENCE_MINUTES} minutes"
        " and none came by the log stream: is it still ACTIVE in Okta (Reports > Log "
        "Streaming)? Reactivate it; polling keeps the windows complete meanwhile. Finding "
        f"{finding.id}: {delivered.report.summary()}",
        metadata={
            **metadata,
            "silent_since": finding.window.isoformat(),
            "finding_id": finding.id,
        },
    )


def raise_finding(
    opensearch: OpenSearchResource, alerts: AlertsResource, finding: Finding, now: datetime
) -> Delivered:
    """Store a pipeline-health finding under its id and deliver its window's alerts (once)."""
    client = opensearch.client()
    ensure_findings_template(client, opensearch.findings_prefix, opensearch.replicas)
    write_findings(
        client,
        opensearch.findings_prefix,
        [finding],
        evaluated_at=now,
        logs_index=daily_indices(opensearch.index_prefix),
    )
    client.indices.refresh(index=findings_index(opensearch.findings_prefix, finding.window))
    return deliver_findings(opensearch, alerts, finding.window, finding.window + WINDOW)


log_stream_health_job = dg.define_asset_job(
    "okta_log_stream_health",
    selection=dg.AssetSelection.checks(log_stream_dead_letters, log_stream_delivering),
    description="Evaluates whether the log stream delivers and its dead-letter queue is empty",
)
log_stream_health_schedule = dg.ScheduleDefinition(
    name="okta_log_stream_health_every_five_minutes",
    job=log_stream_health_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
