"""Alert routing, free of Dagster: destinations (Jira, Slack), the delivery ledger, and the
webhook receiver for OpenSearch Alerting."""
