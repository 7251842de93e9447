"""Detections, free of Dagster: the catalog, the engine that evaluates it, and findings."""
