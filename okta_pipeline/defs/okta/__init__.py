"""The Okta source: partitions, the raw System Log asset, its resource and automation."""
