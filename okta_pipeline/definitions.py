"""The one place that assembles the project's Dagster definitions."""

import dagster as dg

from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.automation import automation_sensor
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.opensearch.retention import okta_index_retention
from okta_pipeline.defs.storage.resources import LandingZoneResource

defs = dg.Definitions(
    assets=[okta_system_log, opensearch_okta_logs, okta_index_retention],
    sensors=[automation_sensor],
    resources={
        # For an OAuth service app instead of an API token, set oauth_client_id and
        # oauth_private_key (and dpop_private_key) from EnvVar in place of api_token.
        "okta": OktaResource(
            base_url=dg.EnvVar("OKTA_BASE_URL"),
            api_token=dg.EnvVar("OKTA_API_TOKEN"),
        ),
        "landing": LandingZoneResource(root=dg.EnvVar("OKTA_PIPELINE_LANDING_ROOT")),
        # The local node needs no credentials. For a secured cluster add
        # username=dg.EnvVar("OPENSEARCH_USERNAME"), password=dg.EnvVar("OPENSEARCH_PASSWORD"),
        # or credentials_secret_id (AWS Secrets Manager), or aws_region (SigV4).
        "opensearch": OpenSearchResource(url=dg.EnvVar("OPENSEARCH_URL")),
    },
)
