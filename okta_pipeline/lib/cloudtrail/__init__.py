"""AWS CloudTrail: reading a trail's S3 objects, and the `cloudtrail-*` indices."""
