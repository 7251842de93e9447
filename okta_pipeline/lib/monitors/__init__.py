"""The detection catalog kept in OpenSearch Alerting as monitors."""
