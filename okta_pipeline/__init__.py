"""okta_pipeline: Okta System Log to OpenSearch, as Dagster assets."""
