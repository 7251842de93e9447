"""The `okta-pipeline` command."""
