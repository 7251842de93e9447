"""AWS CloudTrail beside Okta: landing, loading, the identity link and its automation."""
