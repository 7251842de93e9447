"""A local S3 on 127.0.0.1 (moto's server, over a real socket) for the demo's CloudTrail bucket
and the tests: the pipeline reaches it exactly as it reaches S3, through boto3."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


@contextmanager
def running_s3(bucket_prefix: str = "landing", versioned: bool = True) -> Iterator[LocalS3]:
    """An S3 endpoint on 127.0.0.1 with one fresh bucket (versioned by default)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise RuntimeError(
            "the local S3 needs moto's server: pip install 'okta_pipeline[demo]'"
        ) from None
    # The server's request log (werkzeug's) would print a line per S3 request.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = LocalS3(f"http://{host}:{port}", f"{bucket_prefix}-{uuid.uuid4().hex[:12]}")
        client = s3.client()
        client.create_bucket(Bucket=s3.bucket)
        if versioned:
            client.put_bucket_versioning(
                Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        yield s3
    finally:
        server.stop()
