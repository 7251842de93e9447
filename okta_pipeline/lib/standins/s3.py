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


def local_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for `service` at a local endpoint, with moto's throwaway credentials."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass(frozen=True)
class LocalS3:
    endpoint_url: str
    bucket: str

    def client(self) -> Any:
        return local_client("s3", self.endpoint_url)


@contextmanager
def moto_endpoint(port: int = 0) -> Iterator[str]:
    """moto's server on 127.0.0.1 (every service it implements, one endpoint): its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise RuntimeError(
            "the local AWS stand-in needs moto's server: pip install 'okta_pipeline[demo]'"
        ) from None
    # The server's request log (werkzeug's) would print a line per request.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        host, bound = server.get_host_and_port()
        yield f"http://{host}:{bound}"
    finally:
        server.stop()


@contextmanager
def running_s3(bucket_prefix: str = "landing", versioned: bool = True) -> Iterator[LocalS3]:
    """An S3 endpoint on 127.0.0.1 with one fresh bucket (versioned by default)."""
    with moto_endpoint() as endpoint_url:
        s3 = LocalS3(endpoint_url, f"{bucket_prefix}-{uuid.uuid4().hex[:12]}")
        client = s3.client()
        client.create_bucket(Bucket=s3.bucket)
        if versioned:
            client.put_bucket_versioning(
                Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        yield s3
