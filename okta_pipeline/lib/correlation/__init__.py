"""Okta and AWS together: which Okta user and session each AWS session came from."""
