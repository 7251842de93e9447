"""The jobs an operator launches by name: the pipeline over a range of windows, and the sync of
the detection catalog to OpenSearch Alerting."""

import dagster as dg

from okta_pipeline.defs.alerts.assets import alert_deliveries
from okta_pipeline.defs.aws.assets import cloudtrail_events, opensearch_cloudtrail_events
from okta_pipeline.defs.aws.correlation import aws_identity_links, okta_aws_detections
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.monitors import detection_monitors
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs

PIPELINE_JOB = "okta_pipeline"
AWS_PIPELINE_JOB = "okta_aws_pipeline"
MONITORS_JOB = "sync_detection_monitors"

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    selection=dg.AssetSelection.assets(
        okta_system_log, opensearch_okta_logs, okta_detections, alert_deliveries
    ),
    description="Fetch a range of 5-minute windows from Okta, land them, index them in "
    "OpenSearch, evaluate the detection catalog and deliver the new findings' alerts",
)

aws_pipeline_job = dg.define_asset_job(
    AWS_PIPELINE_JOB,
    selection=dg.AssetSelection.assets(
        okta_system_log,
        opensearch_okta_logs,
        okta_detections,
        cloudtrail_events,
        opensearch_cloudtrail_events,
        aws_identity_links,
        okta_aws_detections,
        alert_deliveries,
    ),
    description="The pipeline with AWS CloudTrail beside Okta: both sources landed and indexed "
    "over a range of windows, AWS sessions linked to Okta identities, Okta and cross-source "
    "detections evaluated, and the new findings' alerts delivered",
)

monitors_job = dg.define_asset_job(
    MONITORS_JOB,
    selection=dg.AssetSelection.assets(detection_monitors),
    description="Keep OpenSearch Alerting's monitors in step with the detection catalog",
)
