"""Tests of CloudTrail beside Okta."""
