"""Where the sinks send: a CloudTrail Lake channel, an OpenObserve log stream."""

from datetime import timedelta
from typing import Any

import dagster as dg
import httpx
from pydantic import Field

from okta_pipeline.lib.aws_secrets import secret_pair
from okta_pipeline.lib.destination_hosts import require_allowed_host
from okta_pipeline.lib.sinks.cloudtrail_lake import Channel, CloudTrailLakeDestination
from okta_pipeline.lib.sinks.openobserve import OpenObserveDestination


class CloudTrailLakeResource(dg.ConfigurableResource):
    """A CloudTrail Lake channel for Okta's events. Credentials come from the environment (the
    run's task role on ECS), and the region from the channel's ARN."""

    channel_arn: str = Field(
        description="The channel's ARN: arn:aws:cloudtrail:<region>:<account>:channel/<id>"
    )
    external_id: str | None = Field(
        default=None, description="The external id the channel's resource policy requires, if any"
    )
    endpoint_url: str | None = Field(
        default=None, description="A local stand-in's endpoint; unset on AWS"
    )
    event_source: str = Field(
        default="okta.com", description="The eventSource of every audit event (the org's host)"
    )

    def destination(self) -> CloudTrailLakeDestination:
        channel = Channel.parse(self.channel_arn)
        return CloudTrailLakeDestination(
            self._client(channel.region), channel, self.external_id, self.event_source
        )

    def _client(self, region: str) -> Any:
        import boto3

        # A session of its own: the default one keeps the credentials it first resolved.
        return boto3.session.Session().client(
            "cloudtrail-data", region_name=region, endpoint_url=self.endpoint_url
        )


class OpenObserveResource(dg.ConfigurableResource):
    """An OpenObserve organization's log stream for Okta's events, with basic auth: a user and
    password (`EnvVar`s), or a Secrets Manager secret holding them (JSON: user, password)."""

    url: str = Field(description="OpenObserve's base URL, e.g. https://openobserve.example.com")
    organization: str = Field(default="default", description="The organization")
    stream: str = Field(default="okta", description="The log stream the events go to")
    user: str | None = Field(default=None, description="The ingesting user's email")
    password: str | None = Field(default=None, description="That user's password or token")
    credentials_secret_id: str | None = Field(
        default=None, description="A Secrets Manager secret with user and password, instead"
    )
    ingest_allowed_upto_hours: float = Field(
        default=5.0,
        gt=0,
        description="The server's ZO_INGEST_ALLOWED_UPTO: older events are not sent",
    )
    ca_certs: str | None = Field(default=None, description="A CA bundle for a private CA")
    timeout_seconds: float = Field(default=60.0, gt=0)

    def destination(self) -> OpenObserveDestination:
        require_allowed_host(self.url, "the OpenObserve resource's url")
        user, password = self._credentials()
        client = httpx.Client(
            base_url=self.url.rstrip("/"),
            auth=httpx.BasicAuth(user, password),
            verify=self.ca_certs or True,
            timeout=self.timeout_seconds,
        )
        return OpenObserveDestination(
            client,
            self.organization,
            self.stream,
            ingest_allowed_upto=timedelta(hours=self.ingest_allowed_upto_hours),
        )

    def _credentials(self) -> tuple[str, str]:
        if self.credentials_secret_id:
            return secret_pair(self.credentials_secret_id, "user", "password")
        if not self.user or not self.password:
            raise ValueError(
                "OpenObserve needs OPENOBSERVE_USER and OPENOBSERVE_PASSWORD, or "
                "OPENOBSERVE_SECRET_ID naming a Secrets Manager secret with user and password"
            )
        return self.user, self.password
