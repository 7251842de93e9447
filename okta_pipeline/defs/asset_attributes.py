"""Who answers for each asset, what it holds, and when its code last changed what it
produces: shown on every asset in the Dagster UI. A deployment names its own team here."""

OWNERS = ["team:security-engineering"]

# Okta events name people (login, display name, IP address, user agent, geolocation); the
# findings and the alerts built from them repeat those fields.
HOLDS_PERSONAL_DATA = {"pii": "true", "source": "okta"}
HOLDS_NO_PERSONAL_DATA = {"pii": "false"}
# CloudTrail names IAM users, role session names (Okta logins), source IP addresses.
HOLDS_AWS_PERSONAL_DATA = {"pii": "true", "source": "cloudtrail"}

# Bump when a change alters what an asset writes for the same input, so the UI flags the
# partitions materialized by older code.
LANDING_FORMAT_VERSION = "1"
ALERT_FORMAT_VERSION = "1"
RETENTION_VERSION = "1"
