"""A Dagster-free client for Okta's System Log API."""
