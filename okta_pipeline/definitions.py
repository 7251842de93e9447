"""The one place that assembles the project's Dagster definitions."""

import os
from typing import Any

import dagster as dg

from okta_pipeline.defs.alerts.assets import alert_deliveries
from okta_pipeline.defs.alerts.resources import alerts_resource
from okta_pipeline.defs.aws.assets import cloudtrail_events, opensearch_cloudtrail_events
from okta_pipeline.defs.aws.correlation import (
    IdentityLinkResource,
    aws_identity_links,
    okta_aws_detections,
)
from okta_pipeline.defs.aws.freshness import (
    cloudtrail_freshness_job,
    cloudtrail_freshness_schedule,
    newest_record_freshness,
)
from okta_pipeline.defs.aws.resources import CloudTrailResource
from okta_pipeline.defs.deployment import (
    PARTITIONS_START_VARIABLE,
    DeploymentSettings,
    DeploymentSettingsError,
)
from okta_pipeline.defs.detections.assets import okta_detections
from okta_pipeline.defs.detections.monitors import detection_monitors, monitors_match_catalog
from okta_pipeline.defs.detections.resources import DetectionsResource, monitors_resource
from okta_pipeline.defs.jobs import aws_pipeline_job, monitors_job, pipeline_job
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.automation import automation_sensor, fetch_condition
from okta_pipeline.defs.okta.log_stream import (
    LogStreamResource,
    log_stream_dead_letters,
    log_stream_delivering,
    log_stream_drain_job,
    log_stream_health_job,
    log_stream_health_schedule,
    log_stream_queue_sensor,
)
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.freshness import (
    freshness_job,
    freshness_schedule,
    newest_event_freshness,
)
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.opensearch.retention import okta_index_retention
from okta_pipeline.defs.partitions import PARTITIONS_START, five_minute_partitions
from okta_pipeline.defs.sinks.assets import cloudtrail_lake_okta_events, openobserve_okta_logs
from okta_pipeline.defs.sinks.resources import CloudTrailLakeResource, OpenObserveResource
from okta_pipeline.defs.storage.resources import LandingZoneResource


def build_definitions(settings: DeploymentSettings) -> dg.Definitions:
    """The pipeline for one deployment. Secrets stay `EnvVar`s, read at run time."""
    refuse_another_partitions_start(settings)
    fetch_on_cadence = fetch_condition(settings.settle_minutes, settings.fetch_every_minutes)
    return dg.Definitions(
        assets=[
            *dg.map_asset_specs(
                lambda spec: spec.replace_attributes(automation_condition=fetch_on_cadence),
                [okta_system_log],
            ),
            opensearch_okta_logs,
            okta_index_retention,
            okta_detections,
            detection_monitors,
            *(aws_assets() if settings.cloudtrail_root else [alert_deliveries]),
            *([cloudtrail_lake_okta_events] if settings.cloudtrail_lake_channel_arn else []),
            *([openobserve_okta_logs] if settings.openobserve_credentials != "none" else []),
        ],
        asset_checks=[
            monitors_match_catalog,
            newest_event_freshness,
            *([newest_record_freshness] if settings.cloudtrail_root else []),
            *(
                [log_stream_dead_letters, log_stream_delivering]
                if settings.log_stream_queue_url
                else []
            ),
        ],
        jobs=[
            pipeline_job,
            monitors_job,
            freshness_job,
            *([aws_pipeline_job, cloudtrail_freshness_job] if settings.cloudtrail_root else []),
            *(log_stream_jobs() if settings.log_stream_queue_url else []),
        ],
        schedules=[
            freshness_schedule,
            *([cloudtrail_freshness_schedule] if settings.cloudtrail_root else []),
            *([log_stream_health_schedule] if settings.log_stream_queue_url else []),
        ],
        sensors=[
            automation_sensor,
            *([log_stream_queue_sensor] if settings.log_stream_queue_url else []),
        ],
        resources={
            "okta": okta_resource(settings),
            "landing": LandingZoneResource(root=dg.EnvVar("OKTA_PIPELINE_LANDING_ROOT")),
            # The local node needs no credentials; on Amazon OpenSearch Service the run's IAM
            # role signs requests (OPENSEARCH_AWS_REGION). For basic auth on another cluster add
            # username=dg.EnvVar(...), password=dg.EnvVar(...), or credentials_secret_id.
            "opensearch": OpenSearchResource(
                url=dg.EnvVar("OPENSEARCH_URL"),
                aws_region=settings.opensearch_aws_region,
                replicas=settings.opensearch_replicas,
                retention_days=settings.opensearch_retention_days,
                ca_certs=settings.opensearch_ca_certs,
            ),
            "detections": DetectionsResource(),
            **aws_resources(settings),
            **log_stream_resources(settings),
            **sink_resources(settings),
            "monitors": monitors_resource(settings),
            "alerts": alerts_resource(settings),
        },
    )


def aws_assets() -> list[dg.AssetsDefinition]:
    """CloudTrail beside Okta: landing, loading, the identity link, the cross-source detections,
    and the alerts following their findings too."""
    return [
        cloudtrail_events,
        opensearch_cloudtrail_events,
        aws_identity_links,
        okta_aws_detections,
        *dg.map_asset_specs(
            lambda spec: spec.replace_attributes(deps=[okta_detections, okta_aws_detections]),
            [alert_deliveries],
        ),
    ]


def aws_resources(settings: DeploymentSettings) -> dict[str, dg.ConfigurableResource]:
    if not settings.cloudtrail_root:
        return {}
    # Region and credentials come from the run's task role, like the landing zone's S3.
    return {
        "cloudtrail": CloudTrailResource(root=settings.cloudtrail_root),
        "identity_link": IdentityLinkResource(),
    }


def sink_resources(settings: DeploymentSettings) -> dict[str, dg.ConfigurableResource]:
    """The destinations beside OpenSearch that are configured. CloudTrail Lake's credentials
    come from the environment (the run's task role on ECS); OpenObserve's are `EnvVar`s or a
    Secrets Manager secret."""
    found: dict[str, dg.ConfigurableResource] = {}
    if settings.cloudtrail_lake_channel_arn:
        found["cloudtrail_lake"] = CloudTrailLakeResource(
            channel_arn=settings.cloudtrail_lake_channel_arn,
            endpoint_url=settings.cloudtrail_lake_endpoint_url,
        )
    if settings.openobserve_credentials != "none":
        secret = settings.openobserve_credentials == "secret"
        found["openobserve"] = OpenObserveResource(
            url=dg.EnvVar("OPENOBSERVE_URL"),
            organization=settings.openobserve_organization,
            stream=settings.openobserve_stream,
            ingest_allowed_upto_hours=settings.openobserve_ingest_allowed_upto_hours,
            credentials_secret_id=dg.EnvVar("OPENOBSERVE_SECRET_ID") if secret else None,
            user=None if secret else dg.EnvVar("OPENOBSERVE_USER"),
            password=None if secret else dg.EnvVar("OPENOBSERVE_PASSWORD"),
        )
    return found


def log_stream_jobs() -> list[Any]:
    """The drain (an op job) and the health checks' job (an asset job)."""
    return [log_stream_drain_job, log_stream_health_job]


def log_stream_resources(settings: DeploymentSettings) -> dict[str, dg.ConfigurableResource]:
    """The log stream's queue and its dead-letter queue."""
    if not settings.log_stream_queue_url:
        return {}
    return {
        "log_stream": LogStreamResource(
            queue_url=settings.log_stream_queue_url,
            dead_letter_queue_url=settings.log_stream_dead_letter_queue_url,
            endpoint_url=settings.log_stream_endpoint_url,
        )
    }


def refuse_another_partitions_start(settings: DeploymentSettings) -> None:
    """The assets were bound to their partitions when imported; a different start in `settings`
    (the environment changed since, or settings built by hand) cannot be applied to them."""
    wanted = settings.partitions_start
    if wanted is not None and wanted != five_minute_partitions.start:
        raise DeploymentSettingsError(
            f"{PARTITIONS_START_VARIABLE}={wanted:%Y-%m-%d-%H:%M} differs from the start the "
            f"partitions were built with ({PARTITIONS_START}) when okta_pipeline was imported: "
            "set it in the environment before the code server and runs start"
        )


def okta_resource(settings: DeploymentSettings) -> OktaResource:
    """An SSWS API token, or an OAuth service app (with DPoP when the app requires it)."""
    if settings.okta_auth_method == "oauth":
        return OktaResource(
            base_url=dg.EnvVar("OKTA_BASE_URL"),
            oauth_client_id=dg.EnvVar("OKTA_OAUTH_CLIENT_ID"),
            oauth_private_key=dg.EnvVar("OKTA_OAUTH_PRIVATE_KEY"),
            oauth_key_id=dg.EnvVar("OKTA_OAUTH_KEY_ID"),
            dpop_private_key=dg.EnvVar("OKTA_DPOP_PRIVATE_KEY")
            if settings.okta_oauth_dpop
            else None,
            rate_limit_share=settings.okta_rate_limit_share,
        )
    return OktaResource(
        base_url=dg.EnvVar("OKTA_BASE_URL"),
        api_token=dg.EnvVar("OKTA_API_TOKEN"),
        rate_limit_share=settings.okta_rate_limit_share,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(DeploymentSettings.from_environment(os.environ))
