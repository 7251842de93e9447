"""The one place that assembles the project's Dagster definitions."""

from dagster import Definitions

# Domains (okta/, opensearch/, detections/) add their assets, checks, resources and
# automation here as they land.
defs = Definitions()
