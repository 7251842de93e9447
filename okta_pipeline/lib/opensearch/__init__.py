"""A Dagster-free layer over opensearch-py: connection, the Okta index, bulk loading, retention."""
