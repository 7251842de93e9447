"""Loading OpenSearch: the indexed Okta events, their setup, checks and automation."""
