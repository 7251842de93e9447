"""Where the CloudTrail trail is: its S3 bucket and prefix, and which accounts and regions."""

from datetime import timedelta
from typing import Any

import dagster as dg
from pydantic import Field

from okta_pipeline.lib.cloudtrail.trail import (
    DEFAULT_MAX_DELIVERY_DELAY,
    DEFAULT_MAX_OBJECT_BYTES,
    DEFAULT_MAX_UNCOMPRESSED_BYTES,
    MIB,
    TrailBucket,
    TrailLocation,
)


class CloudTrailResource(dg.ConfigurableResource):
    """A CloudTrail trail's S3 location (an organization trail's too). Credentials and region
    come from the environment: the run's task role on ECS."""

    root: str = Field(
        description="s3://<trail bucket>[/<prefix>], the prefix being what AWSLogs/ lies under"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Another S3 endpoint (a VPC endpoint, a local S3)"
    )
    accounts: list[str] = Field(
        default_factory=list, description="Only these account ids (default: every one found)"
    )
    regions: list[str] = Field(
        default_factory=list, description="Only these regions (default: every one found)"
    )
    max_delivery_delay_minutes: int = Field(
        default=int(DEFAULT_MAX_DELIVERY_DELAY.total_seconds() // 60),
        ge=5,
        le=24 * 60,
        description="How late after its records an object may be delivered and still be read "
        "for their windows (CloudTrail: about 5 minutes, up to 15)",
    )
    max_object_mib: int = Field(
        default=DEFAULT_MAX_OBJECT_BYTES // MIB,
        ge=1,
        description="A trail object listed over this size (gzipped) is skipped unread and "
        "listed as malformed (AWS's are at most a few tens of MB)",
    )
    max_uncompressed_mib: int = Field(
        default=DEFAULT_MAX_UNCOMPRESSED_BYTES // MIB,
        ge=1,
        description="A trail object that gunzips to more than this is skipped and listed as "
        "malformed: the bound on one object's memory (up to 16 are read at once)",
    )

    def trail(self) -> TrailBucket:
        return TrailBucket(
            self._s3_client(),
            TrailLocation.parse(self.root),
            accounts=self.accounts,
            regions=self.regions,
            max_delivery_delay=timedelta(minutes=self.max_delivery_delay_minutes),
            max_object_bytes=self.max_object_mib * MIB,
            max_uncompressed_bytes=self.max_uncompressed_mib * MIB,
        )

    def _s3_client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint_url)
