"""Provision and run a single-node OpenSearch from Maven Central, without Docker."""
