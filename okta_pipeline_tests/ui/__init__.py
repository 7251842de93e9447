"""The Dagster UI in a real browser: what a user sees after the demo."""
