"""The landing zone as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from okta_pipeline.lib.landing import LandingZone


class LandingZoneResource(dg.ConfigurableResource):
    """Raw Okta events as gzipped JSON Lines, one file per 5-minute window."""

    root: str = Field(
        default="landing",
        description="Landing zone directory (a relative path is from the working directory)",
    )

    def zone(self) -> LandingZone:
        return LandingZone(Path(self.root).expanduser())
