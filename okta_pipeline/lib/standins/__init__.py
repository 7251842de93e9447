"""Stand-ins for the SaaS APIs alert routing calls (Jira, Slack), for the demo and the tests."""
