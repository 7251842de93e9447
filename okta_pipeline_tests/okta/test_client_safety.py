"""Client safety edges, with httpx mock transports standing in for a misbehaving Okta."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from okta_pipeline.lib.okta.client import OktaLogClient
from okta_pipeline.lib.okta.credentials import ServiceAppCredentials, SswsToken
from okta_pipeline.lib.okta.errors import OktaError, OktaUnavailableError
from okta_pipeline.lib.okta.rate_budget import parse_rate_limit_headers
from okta_pipeline_tests.okta.helpers import rsa_key_pem

START = datetime(2026, 11, 17, tzinfo=UTC)
END = START + timedelta(minutes=5)
SECRET = "ssws-token-that-must-stay-secret"


def test_a_next_link_to_another_host_is_refused_before_credentials_are_sent() -> None:
    seen: list[httpx.Request] = []

    def okta(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json=[{"uuid": "1"}],
            headers={"Link": '<http://evil.example/api/v1/logs?after=x>; rel="next"'},
        )

    client = OktaLogClient(
        "https://acme.okta.com",
        SswsToken(SECRET),
        http=httpx.Client(transport=httpx.MockTransport(okta)),
    )
    with pytest.raises(OktaError, match=r"next link points to http://evil\.example"):
        list(client.fetch_range(START, END))
    assert [r.url.host for r in seen] == ["acme.okta.com"]


def test_repeated_rate_limit_headers_use_the_tightest_limit() -> None:
    headers = httpx.Headers(
        [
            ("X-Rate-Limit-Limit", "100"),
            ("X-Rate-Limit-Limit", "20"),
            ("X-Rate-Limit-Remaining", "90"),
            ("X-Rate-Limit-Remaining", "3"),
            ("X-Rate-Limit-Reset", "1795341700"),
            ("X-Rate-Limit-Reset", "1795341660"),
            ("Date", "Sun, 22 Nov 2026 10:00:20 GMT"),
        ]
    )
    parsed = parse_rate_limit_headers(headers)
    assert parsed is not None
    assert (parsed.limit, parsed.remaining, parsed.seconds_to_reset) == (20, 3, 40)


def test_token_endpoint_outages_are_retried_like_any_okta_outage() -> None:
    token_calls = []

    def okta(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v1/token":
            token_calls.append(request)
            if len(token_calls) == 1:
                return httpx.Response(503)
            return httpx.Response(
                200, json={"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
            )
        assert request.headers["Authorization"] == "Bearer t"
        return httpx.Response(200, json=[{"uuid": "1"}])

    http = httpx.Client(transport=httpx.MockTransport(okta))
    credentials = ServiceAppCredentials(
        "https://acme.okta.com/oauth2/v1/token", "0oa1", rsa_key_pem(), http=http
    )
    client = OktaLogClient("https://acme.okta.com", credentials, http=http, backoff_seconds=0.01)
    assert [e["uuid"] for e in client.fetch_range(START, END)] == ["1"]
    assert len(token_calls) == 2 and client.stats.retries == 1


def test_a_non_json_answer_is_reported_not_crashed_on() -> None:
    client = OktaLogClient(
        "https://acme.okta.com",
        SswsToken(SECRET),
        http=httpx.Client(
            transport=httpx.MockTransport(
                lambda request: httpx.Response(200, text="<html>login</html>")
            )
        ),
    )
    with pytest.raises(OktaUnavailableError, match="not a JSON list of events"):
        list(client.fetch_range(START, END))


def test_credentials_never_reach_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    private_key = rsa_key_pem()

    def okta(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v1/token":
            return httpx.Response(
                401, json={"error": "invalid_client", "error_description": "no such client"}
            )
        return httpx.Response(
            401, json={"errorCode": "E0000011", "errorSummary": "Invalid token provided"}
        )

    caplog.set_level(logging.DEBUG)
    http = httpx.Client(transport=httpx.MockTransport(okta))
    messages = []
    for credentials in (
        SswsToken(SECRET),
        ServiceAppCredentials(
            "https://acme.okta.com/oauth2/v1/token", "0oa1", private_key, http=http
        ),
    ):
        client = OktaLogClient("https://acme.okta.com", credentials, http=http)
        with pytest.raises(OktaError) as failure:
            list(client.fetch_range(START, END))
        messages += [str(failure.value), repr(credentials), repr(failure.value)]
    messages += [record.getMessage() for record in caplog.records]
    key_body = private_key.splitlines()[1]
    for text in messages:
        assert SECRET not in text and key_body not in text


def paging_client(pages: Sequence[tuple[list[dict[str, str]], str | None]]) -> OktaLogClient:
    """Okta answering the listed pages in turn: (events, the next link's `after` or None)."""
    answers = iter(pages)

    def okta(request: httpx.Request) -> httpx.Response:
        events, after = next(answers)
        headers = {}
        if after is not None:
            headers["Link"] = f'<https://acme.okta.com/api/v1/logs?after={after}>; rel="next"'
        return httpx.Response(200, json=events, headers=headers)

    return OktaLogClient(
        "https://acme.okta.com",
        SswsToken(SECRET),
        http=httpx.Client(transport=httpx.MockTransport(okta)),
    )


def test_a_next_link_that_cycles_back_stops_with_a_clear_error() -> None:
    client = paging_client(
        [([{"uuid": "1"}], "a"), ([{"uuid": "2"}], "b"), ([{"uuid": "3"}], "a")]
        + [([{"uuid": "x"}], "b")] * 5
    )
    read: list[str] = []
    with pytest.raises(OktaUnavailableError, match="repeats one already followed after 3 pages"):
        for event in client.fetch_range(START, END):
            read.append(event["uuid"])
    assert read == ["1", "2", "3"]


def test_endless_empty_pages_stop_with_a_clear_error() -> None:
    client = paging_client([([{"uuid": "1"}], "p0")] + [([], f"p{n}") for n in range(1, 100)])
    with pytest.raises(OktaUnavailableError, match="20 empty pages in a row"):
        list(client.fetch_range(START, END))
    assert client.stats.pages == 21


def test_a_few_empty_pages_then_events_are_followed_to_the_end() -> None:
    client = paging_client(
        [([{"uuid": "1"}], "a")] + [([], f"e{n}") for n in range(5)] + [([{"uuid": "2"}], None)]
    )
    assert [e["uuid"] for e in client.fetch_range(START, END)] == ["1", "2"]


def test_a_tls_verification_failure_says_how_to_trust_an_intercepting_proxy() -> None:
    def okta(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")

    client = OktaLogClient(
        "https://acme.okta.com",
        SswsToken(SECRET),
        http=httpx.Client(transport=httpx.MockTransport(okta)),
    )
    with pytest.raises(OktaError, match="point SSL_CERT_FILE at a CA bundle"):
        list(client.fetch_range(START, END))
