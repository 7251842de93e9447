"""Amazon OpenSearch Service auth (SigV4) and credentials from AWS Secrets Manager, against
local HTTP fakes of exactly the endpoints used (AWS cannot run here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.lib.http_server import send_json
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect


class Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []
    answer: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).requests.append((self.command, self.path, dict(self.headers), body))
        send_json(self, 200, type(self).answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_to_amazon_opensearch_are_signed_with_sigv4(fake_aws: str) -> None:
    Recorder.answer = {"version": {"number": "2.19.0"}}
    client = connect(OpenSearchSettings(url=fake_aws, aws_region="eu-west-1"))
    assert client.info()["version"]["number"] == "2.19.0"
    (_, _, headers, _) = Recorder.requests[-1]
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in authorization
    assert "x-amz-date" in {k.lower() for k in headers}
    assert "wJalrXUtnFEMI" not in json.dumps(headers)


def test_basic_auth_and_sigv4_together_are_refused() -> None:
    with pytest.raises(ValueError, match="either basic auth"):
        connect(OpenSearchSettings(url="https://x", username="u", password="p", aws_region="r"))


def test_credentials_come_from_secrets_manager(
    fake_aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", fake_aws)
    monkeypatch.setenv("OPENSEARCH_URL", "https://search.example.com")
    # Secrets Manager's region comes from the environment (AWS_REGION on ECS).
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    Recorder.answer = {
        "ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:okta-pipeline/opensearch",
        "Name": "okta-pipeline/opensearch",
        "SecretString": json.dumps({"username": "pipeline", "password": "from-the-vault"}),
    }
    resource = OpenSearchResource(
        url="https://search.example.com",
        credentials_secret_id="okta-pipeline/opensearch",
        aws_region="eu-west-1",
    )
    with pytest.raises(ValueError, match="either basic auth"):
        resource.client()  # a secret's basic-auth credentials and SigV4 are exclusive
    resolved = OpenSearchResource(
        url="https://search.example.com", credentials_secret_id="okta-pipeline/opensearch"
    ).settings()
    assert (resolved.username, resolved.password) == ("pipeline", "from-the-vault")
    assert "from-the-vault" not in repr(resolved)
    (method, _, headers, body) = Recorder.requests[-1]
    assert method == "POST" and headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
    assert json.loads(body)["SecretId"] == "okta-pipeline/opensearch"


@pytest.mark.parametrize(
    "settings",
    [
        OpenSearchSettings(url="http://search.example.com:9200", username="u", password="p"),
        OpenSearchSettings(url="http://10.0.0.8:9200", aws_region="eu-west-1"),
    ],
    ids=["basic auth", "sigv4"],
)
def test_credentials_are_never_sent_over_plain_http_to_another_host(
    settings: OpenSearchSettings,
) -> None:
    with pytest.raises(ValueError, match=r"over plain http to .*: use https"):
        connect(settings)


def test_plain_http_is_allowed_to_this_machine_or_without_credentials(fake_aws: str) -> None:
    connect(OpenSearchSettings(url="http://127.0.0.1:9200", username="admin", password="x"))
    connect(OpenSearchSettings(url=fake_aws, aws_region="eu-west-1"))
    connect(OpenSearchSettings(url="http://search.example.com:9200"))
    connect(OpenSearchSettings(url="https://search.example.com", username="u", password="p"))
