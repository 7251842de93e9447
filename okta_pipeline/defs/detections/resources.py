"""Which detections run: the whole enabled catalog, or a chosen part of it."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.detections.model import Detection


class DetectionsResource(dg.ConfigurableResource):
    """The detection catalog to evaluate. Set `only` to backfill one new detection over past
    windows without re-evaluating the others (re-evaluating them would change nothing)."""

    only: list[str] | None = Field(
        default=None, description="Evaluate only these detection ids (all enabled when unset)"
    )
    disabled: list[str] = Field(default_factory=list, description="Detection ids to skip")

    def selected(self) -> tuple[Detection, ...]:
        catalog = load_catalog()
        for detection_id in self.disabled:
            catalog.get(detection_id)  # a typo names the known ids instead of passing silently
        return tuple(d for d in catalog.select(self.only) if d.id not in self.disabled)
