"""A simulator of Okta's System Log API: the real HTTP API over synthetic or recorded events."""
