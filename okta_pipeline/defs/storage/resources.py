"""The landing zone as a Dagster resource."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dagster as dg
from pydantic import Field

from okta_pipeline.lib.landing import CLOUDTRAIL_RECORD, LandingZone
from okta_pipeline.lib.landing.storage import LandingStorage, storage_at


class LandingZoneResource(dg.ConfigurableResource):
    """Raw Okta events and CloudTrail records as gzipped JSON Lines, one file per 5-minute
    window and source, in a directory or under an S3 prefix."""

    root: str = Field(
        default="landing",
        description="A directory (relative to the working directory), or s3://<bucket>/<prefix>",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Another S3 endpoint (a VPC endpoint's DNS name, an S3-compatible store)",
    )

    def zone(self) -> LandingZone:
        """Okta's System Log events."""
        return LandingZone(self._storage())

    def cloudtrail_zone(self) -> LandingZone:
        """CloudTrail records, beside the Okta events."""
        return LandingZone(self._storage(), dataset="cloudtrail_events", shape=CLOUDTRAIL_RECORD)

    def _storage(self) -> LandingStorage:
        return storage_at(self.root, s3_client=self._s3_client())

    def _s3_client(self) -> Any:
        if not self.root.startswith("s3://"):
            return None
        import boto3

        # Region and credentials come from the environment (the task role on ECS).
        return boto3.client("s3", endpoint_url=self.s3_endpoint_url)


def location_metadata(location: str) -> dg.MetadataValue:
    """Where a landed file is, as the UI should show it: a link to the S3 console for an S3
    object, a path for a local file."""
    if location.startswith("s3://"):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        return dg.MetadataValue.url(
            f"https://console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key, safe='/')}"
        )
    return dg.MetadataValue.path(location)
