"""Where landed files live: a local directory or an S3 prefix, behind one small interface.

Both give read-modify-write without lost updates. A directory does it under an exclusive
file lock with an atomic rename; S3 with conditional writes (If-Match on the ETag that was
read, If-None-Match for a new object), retried when another writer got there first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

S3Client = Any  # a boto3 S3 client
Change = Callable[[bytes | None], bytes]


class LandingConflictError(RuntimeError):
    """A landed file kept changing under a read-modify-write; nothing was overwritten."""


class LandingStorage(Protocol):
    def location(self, key: str) -> str:
        """Where `key` lives, for people: a path or an s3:// URL."""
        ...

    def exists(self, key: str) -> bool: ...

    def version(self, key: str) -> str | None:
        """A short token that changes whenever the stored bytes do; None if nothing is stored."""
        ...

    def open_read(self, key: str) -> IO[bytes] | None:
        """A stream of the stored bytes (the caller closes it), or None if there are none."""
        ...

    def update(self, key: str, change: Change) -> None:
        """Store `change(current bytes or None)`, never losing a concurrent writer's update.
        `change` may be called more than once and must not have other side effects."""
        ...

    def put_file(self, key: str, source: Path) -> None:
        """Store a local file's bytes under `key`."""
        ...


class DirectoryStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key

    def location(self, key: str) -> str:
        return str(self.path(key))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def version(self, key: str) -> str | None:
        try:
            return hashlib.sha256(self.path(key).read_bytes()).hexdigest()[:16]
        except FileNotFoundError:
            return None

    def open_read(self, key: str) -> IO[bytes] | None:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            return None

    def update(self, key: str, change: Change) -> None:
        path = self.path(key)
        with _exclusive_lock(path):
            current = path.read_bytes() if path.is_file() else None
            data = change(current)
            if data != current:
                _write_atomically(path, lambda out: out.write(data))

    def put_file(self, key: str, source: Path) -> None:
        with source.open("rb") as data:
            _write_atomically(self.path(key), lambda out: shutil.copyfileobj(data, out))


class S3Storage:
    # S3 answers a failed If-Match / If-None-Match with 412, and a write that raced another
    # conditional write with 409.
    CONFLICTS = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: S3Client | None = None,
        max_attempts: int = 10,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.max_attempts = max_attempts

    def key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.key(key)}"

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as error:
            if _status(error) == 404:
                return False
            raise
        return True

    def version(self, key: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as error:
            if _status(error) == 404:
                return None
            raise
        return str(head["ETag"]).strip('"')

    def open_read(self, key: str) -> IO[bytes] | None:
        stored = self._get(key)
        return None if stored is None else stored[0]

    def update(self, key: str, change: Change) -> None:
        from botocore.exceptions import ClientError

        for attempt in range(self.max_attempts):
            stored = self._get(key)
            if stored is None:
                current, condition = None, {"IfNoneMatch": "*"}
            else:
                with stored[0] as body:
                    current = body.read()
                condition = {"IfMatch": stored[1]}
            data = change(current)
            if data == current:
                return
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=self.key(key), Body=data, **condition
                )
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in self.CONFLICTS:
                    raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
        raise LandingConflictError(
            f"{self.location(key)} changed under {self.max_attempts} attempts to update it; "
            "another run is writing the same window. Nothing was overwritten: re-run this one"
        )

    def put_file(self, key: str, source: Path) -> None:
        self.client.upload_file(str(source), self.bucket, self.key(key))

    def _get(self, key: str) -> tuple[IO[bytes], str] | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None
            raise
        return response["Body"], response["ETag"]


def storage_at(root: str | Path, s3_client: S3Client | None = None) -> LandingStorage:
    """`s3://bucket/prefix` for S3; anything else is a directory."""
    text = str(root)
    if text.startswith("s3://"):
        bucket, _, prefix = text.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"landing root {text!r} names no bucket: use s3://<bucket>/<prefix>")
        return S3Storage(bucket, prefix, client=s3_client)
    return DirectoryStorage(Path(text).expanduser())


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write a uniquely named temporary file, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
