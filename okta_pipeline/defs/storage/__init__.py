"""Where pipeline data lives between assets: the raw landing zone."""
