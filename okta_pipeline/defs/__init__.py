"""Dagster definitions, one folder per domain; definitions.py assembles them."""
