"""Destinations beside OpenSearch that landed windows are shipped to (CloudTrail Lake)."""
