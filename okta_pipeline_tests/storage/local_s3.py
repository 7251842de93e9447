"""The local S3 (moto's server on a real socket) that the S3 landing zone's and CloudTrail's
tests use: the product's own stand-in."""

from okta_pipeline.lib.standins.s3 import CREDENTIALS, LocalS3, running_s3

__all__ = ["CREDENTIALS", "LocalS3", "running_s3"]
