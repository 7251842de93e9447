"""Plain-Python building blocks that know nothing of Dagster, so each is testable alone."""
