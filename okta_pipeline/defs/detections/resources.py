"""Which detections run: the whole enabled catalog, or a chosen part of it."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from pydantic import Field

from okta_pipeline.defs.deployment import DeploymentSettings
from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.exceptions import DEPLOYMENT, DetectionException, merged
from okta_pipeline.lib.detections.model import Detection


class ExceptionConfig(dg.Config):
    """An exception of this deployment: findings whose values are all allowed are suppressed
    (kept, naming it, and not alerted). One named like a catalog exception replaces it."""

    name: str = Field(description="Names the exception on the findings it matches")
    reason: str = Field(description="Why what it matches is benign here")
    match: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Field -> allowed values (case-insensitive; * and ? wildcards; CIDR "
        "networks for IP fields), e.g. {'client.ipAddress': ['203.0.113.0/24']}",
    )
    audit: bool = Field(
        default=False, description="Only name the exception on matching findings; still alert"
    )
    enabled: bool = Field(default=True, description="false: drop the catalog's of this name")


class DetectionsResource(dg.ConfigurableResource):
    """The detection catalog to evaluate. Set `only` to backfill one new detection over past
    windows without re-evaluating the others (re-evaluating them would change nothing).
    `exceptions` tunes detections to this org: its egress networks, service accounts, apps."""

    only: list[str] | None = Field(
        default=None, description="Evaluate only these detection ids (all enabled when unset)"
    )
    disabled: list[str] = Field(default_factory=list, description="Detection ids to skip")
    exceptions: dict[str, list[ExceptionConfig]] = Field(
        default_factory=dict,
        description="Detection id -> exceptions added to (or replacing) the catalog's",
    )

    def selected(self) -> tuple[Detection, ...]:
        catalog = load_catalog()
        for detection_id in self.disabled:
            catalog.get(detection_id)  # a typo names the known ids instead of passing silently
        return tuple(d for d in catalog.select(self.only) if d.id not in self.disabled)

    def exceptions_by_detection(self) -> dict[str, tuple[DetectionException, ...]]:
        """Each detection's exceptions: the catalog's, with this deployment's merged in."""
        catalog = load_catalog()
        chosen: dict[str, tuple[DetectionException, ...]] = {}
        for detection_id, configured in self.exceptions.items():
            detection = catalog.get(detection_id)
            where = f"DetectionsResource.exceptions[{detection_id}]"
            added = [
                DetectionException.parse(c.model_dump(), where, origin=DEPLOYMENT)
                for c in configured
                if c.enabled
            ]
            dropped = {c.name for c in configured if not c.enabled}
            chosen[detection_id] = tuple(
                e for e in merged(detection.exceptions, added) if e.name not in dropped
            )
        return chosen


class MonitorsResource(dg.ConfigurableResource):
    """How the catalog runs as Alerting monitors. A monitor reads a window `lag_minutes` after
    it ends (the settle delay, the fetch cadence and the load). With `receiver_url`, each
    monitor's new alerts post to the alert receiver with the shared secret (`dg.EnvVar`)."""

    lag_minutes: int = Field(
        default=10,
        ge=0,
        description="Minutes between a window's end and the monitor run that reads it",
    )
    enabled: bool = Field(
        default=True,
        description="Schedule the monitors (else create them disabled: only _execute runs them)",
    )
    receiver_url: str | None = Field(
        default=None, description="The alert receiver's URL, e.g. https://alerts.example.com/alerts"
    )
    receiver_secret: str | None = Field(default=None, repr=False)

    def lag(self) -> timedelta:
        return timedelta(minutes=self.lag_minutes)

    def receiver_token(self) -> str:
        if not self.receiver_secret:
            raise ValueError(
                "receiver_url is set: set the receiver's shared secret too "
                "(OKTA_PIPELINE_RECEIVER_SECRET)"
            )
        return self.receiver_secret


LOAD_MINUTES = 3
"""Time to allow for a fetched window to be loaded and refreshed, on top of the cadence."""


def monitors_resource(settings: DeploymentSettings) -> MonitorsResource:
    """Monitors read a window once the automation has fetched and loaded it."""
    lag = settings.settle_minutes + settings.fetch_every_minutes + LOAD_MINUTES
    if settings.receiver_url:
        return MonitorsResource(
            lag_minutes=lag,
            receiver_url=settings.receiver_url,
            receiver_secret=dg.EnvVar("OKTA_PIPELINE_RECEIVER_SECRET"),
        )
    return MonitorsResource(lag_minutes=lag)
