"""Where the sinks send: a CloudTrail Lake channel."""

from typing import Any

import dagster as dg
from pydantic import Field

from okta_pipeline.lib.sinks.cloudtrail_lake import Channel, CloudTrailLakeDestination


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
