"""`okta-pipeline sql` and its views, over landing zones built by the landing code itself."""
