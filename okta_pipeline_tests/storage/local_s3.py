"""A local S3 (moto's server) on a real socket, for the S3 landing zone's tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

# moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class LocalS3:
    endpoint_url: str
    bucket: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


@contextmanager
def running_s3() -> Iterator[LocalS3]:
    """An S3 endpoint on 127.0.0.1 with one fresh, versioned bucket."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = LocalS3(f"http://{host}:{port}", f"landing-{uuid.uuid4().hex[:12]}")
        client = s3.client()
        client.create_bucket(Bucket=s3.bucket)
        client.put_bucket_versioning(
            Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        yield s3
    finally:
        server.stop()
