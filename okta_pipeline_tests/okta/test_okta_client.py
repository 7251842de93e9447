"""The Okta client against the simulator over a real socket."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from okta_pipeline.lib.okta.client import OktaLogClient, okta_timestamp
from okta_pipeline.lib.okta.credentials import ServiceAppCredentials, SswsToken
from okta_pipeline.lib.okta.errors import OktaAuthError, OktaRequestError, OktaUnavailableError
from okta_pipeline.lib.okta.rate_budget import RateBudget
from okta_pipeline.lib.okta_simulator.auth import OAuthClient
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions
from okta_pipeline.lib.okta_simulator.sources import SimulatedOrg
from okta_pipeline_tests.okta.helpers import (
    TOKEN,
    ec_key_pem,
    public_jwk_of,
    recent_window,
    rsa_key_pem,
    running_simulator,
)

# A fixed weekday (Tuesday 2026-11-17), served by a simulator whose clock is pinned to the next
# noon: the counts are the same whenever the suite runs.
DAY_START = datetime(2026, 11, 17, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
PINNED_NOW = (DAY_END + timedelta(hours=12)).timestamp
BUSY_ORG = SimulatedOrg(seed=21, events_per_minute=20)


def uuids_between(start: datetime, end: datetime) -> list[str]:
    window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    return [s.uuid for s in BUSY_ORG.published_between(*window)]


def ssws_client(base_url: str, **options: object) -> OktaLogClient:
    return OktaLogClient(base_url, SswsToken(TOKEN), **options)  # type: ignore[arg-type]


def test_a_day_as_one_range_costs_events_over_1000_requests() -> None:
    expected = len(uuids_between(DAY_START, DAY_END))
    assert expected >= 25_000
    roomy = SimulatorOptions(rate_limit_per_window=600)  # the limit is not what this measures
    with running_simulator(roomy, source=BUSY_ORG, clock=PINNED_NOW) as (app, base_url):
        client = ssws_client(base_url)
        uuids = [event["uuid"] for event in client.fetch_range(DAY_START, DAY_END)]
    assert len(uuids) == len(set(uuids)) == expected
    assert client.stats.requests <= math.ceil(expected / 1000) + 2
    assert app.stats.log_requests == client.stats.requests


def test_a_small_rate_limit_is_respected_without_a_single_429() -> None:
    """Five requests per one-second window; the client may use 60% of them (three)."""
    start, end = DAY_START, DAY_START + timedelta(hours=6)
    options = SimulatorOptions(rate_limit_per_window=5, rate_limit_window_seconds=1)
    with running_simulator(options, source=BUSY_ORG) as (app, base_url):
        client = ssws_client(
            base_url, budget=RateBudget(share=0.6, reset_margin_seconds=0.05), page_size=200
        )
        events = list(client.fetch_range(start, end))
    assert len(events) == sum(
        1
        for _ in BUSY_ORG.published_between(
            int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        )
    )
    assert client.stats.requests >= 10, "enough requests to span several windows"
    assert client.stats.rate_limited == 0 and app.stats.rate_limited == 0
    assert max(app.rate_limiter.used_per_window.values()) <= 3
    assert client.stats.waited_seconds > 0


def test_429s_caused_by_another_integration_are_waited_out() -> None:
    """Another integration used up the org's window: each 429 is waited out until the reset."""
    start, end = DAY_START, DAY_START + timedelta(hours=2)
    options = SimulatorOptions(rate_limit_per_window=50, rate_limit_window_seconds=1)
    with running_simulator(options, source=BUSY_ORG, clock=PINNED_NOW) as (app, base_url):
        app.inject_faults(429, 429)
        client = ssws_client(
            base_url, budget=RateBudget(share=1.0, reset_margin_seconds=0.05), page_size=300
        )
        events = list(client.fetch_range(start, end))
    assert len(events) == len(uuids_between(start, end))
    assert client.stats.rate_limited == 2 and app.stats.errors_injected == 2
    assert client.stats.retries == 0, "a 429 is waited out, not counted against the retries"
    assert client.stats.waited_seconds >= 1.0


def test_server_errors_are_retried_with_backoff() -> None:
    start, end = recent_window(span=timedelta(minutes=30))
    with running_simulator() as (app, base_url):
        app.inject_faults(500, 503)
        client = ssws_client(base_url, backoff_seconds=0.01, max_backoff_seconds=0.05)
        events = list(client.fetch_range(start, end))
    assert events and client.stats.retries == 2 and app.stats.errors_injected == 2


def test_retries_back_off_exponentially_with_jitter_up_to_the_cap() -> None:
    """The waits between attempts, recorded: each is drawn below a ceiling that doubles from
    the configured backoff until the cap (full jitter, so retries from many clients spread)."""
    start, end = recent_window(span=timedelta(minutes=30))
    slept: list[float] = []
    with running_simulator() as (app, base_url):
        app.inject_faults(*[503] * 5)
        client = ssws_client(
            base_url, backoff_seconds=0.5, max_backoff_seconds=4.0, sleep=slept.append
        )
        assert list(client.fetch_range(start, end))
    assert len(slept) == 5 == client.stats.retries
    ceilings = [0.5 * 2**n for n in range(5)]  # 0.5, 1, 2, 4, 8 s before the cap
    for wait, ceiling in zip(slept, ceilings, strict=True):
        assert 0 <= wait <= min(ceiling, 4.0)
    assert max(slept) > 0 and sum(slept) <= 0.5 + 1 + 2 + 4 + 4


def test_an_outage_ends_in_a_clear_error_after_the_last_attempt() -> None:
    start, end = recent_window(span=timedelta(minutes=30))
    with running_simulator() as (app, base_url):
        app.inject_faults(*[500] * 10)
        client = ssws_client(
            base_url, max_attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.02
        )
        with pytest.raises(OktaUnavailableError, match=r"after 3 attempts.*re-run"):
            list(client.fetch_range(start, end))
    assert client.stats.requests == 3


def test_unreachable_okta_is_retried_then_reported() -> None:
    client = ssws_client("http://127.0.0.1:9", max_attempts=2, backoff_seconds=0.01)
    start, end = recent_window(span=timedelta(minutes=5))
    with pytest.raises(OktaUnavailableError, match="ConnectError"):
        list(client.fetch_range(start, end))


def test_bad_token_fails_fast_and_says_what_to_check() -> None:
    start, end = recent_window(span=timedelta(minutes=5))
    with running_simulator() as (_, base_url):
        client = OktaLogClient(base_url, SswsToken("not-the-token"))
        with pytest.raises(OktaRequestError) as failure:
            list(client.fetch_range(start, end))
    message = str(failure.value)
    assert "401 E0000011" in message and "OKTA_API_TOKEN" in message
    assert "not-the-token" not in message
    assert client.stats.requests == 2, "one retry with a fresh token, then stop"


def test_bad_filter_and_old_since_fail_fast_naming_the_cause() -> None:
    with running_simulator() as (_, base_url):
        client = ssws_client(base_url)
        start, end = recent_window(span=timedelta(minutes=5))
        with pytest.raises(OktaRequestError, match=r"400 E0000053.*filter"):
            list(client.fetch_range(start, end, filter_expression='published gt "x"'))
        old = start - timedelta(days=200)
        with pytest.raises(OktaRequestError, match=r"400 E0000053.*180 days"):
            list(client.fetch_range(old, old + timedelta(minutes=5)))
        assert client.stats.retries == 0


def test_plain_http_is_refused_except_to_this_machine() -> None:
    from okta_pipeline.lib.okta.errors import OktaError

    with pytest.raises(OktaError, match="refusing plain http"):
        ssws_client("http://example.okta.com")
    assert ssws_client("https://example.okta.com").base_url == "https://example.okta.com"


@pytest.mark.parametrize("dpop", [False, True], ids=["private_key_jwt", "private_key_jwt+DPoP"])
def test_oauth_service_app_fetches_and_caches_its_token(dpop: bool) -> None:
    client_key, dpop_key = rsa_key_pem(), ec_key_pem()
    registered = OAuthClient("0oa-test-service-app", public_jwk_of(client_key), require_dpop=dpop)
    # A roomy rate limit: this test is about tokens, not about waiting for a window's reset.
    options = SimulatorOptions(
        oauth_clients={registered.client_id: registered}, rate_limit_per_window=1000
    )
    start, end = recent_window(span=timedelta(hours=2))
    with running_simulator(options) as (app, base_url):
        credentials = ServiceAppCredentials(
            token_url=f"{base_url}/oauth2/v1/token",
            client_id=registered.client_id,
            private_key_pem=client_key,
            key_id="key-1",
            dpop_private_key_pem=dpop_key if dpop else None,
        )
        client = OktaLogClient(base_url, credentials, page_size=200)
        events = list(client.fetch_range(start, end))
    assert len(events) > 400 and client.stats.pages >= 3
    assert credentials.tokens_fetched == 1 and app.authenticator.tokens_issued == 1
    assert client_key not in repr(credentials)


def test_dpop_required_but_not_configured_is_a_clear_error() -> None:
    client_key = rsa_key_pem()
    registered = OAuthClient("0oa-dpop-app", public_jwk_of(client_key), require_dpop=True)
    with running_simulator(SimulatorOptions(oauth_clients={registered.client_id: registered})) as (
        _,
        base_url,
    ):
        credentials = ServiceAppCredentials(
            f"{base_url}/oauth2/v1/token", registered.client_id, client_key
        )
        client = OktaLogClient(base_url, credentials)
        start, end = recent_window(span=timedelta(minutes=5))
        with pytest.raises(OktaAuthError, match=r"invalid_dpop_proof.*requires DPoP"):
            list(client.fetch_range(start, end))


def test_a_key_okta_does_not_know_is_refused() -> None:
    registered = OAuthClient("0oa-app", public_jwk_of(rsa_key_pem()))
    with running_simulator(SimulatorOptions(oauth_clients={registered.client_id: registered})) as (
        _,
        base_url,
    ):
        credentials = ServiceAppCredentials(
            f"{base_url}/oauth2/v1/token", registered.client_id, rsa_key_pem()
        )
        client = OktaLogClient(base_url, credentials)
        start, end = recent_window(span=timedelta(minutes=5))
        with pytest.raises(OktaAuthError, match=r"invalid_client.*public key matches"):
            list(client.fetch_range(start, end))


def test_okta_timestamp_has_milliseconds_and_z() -> None:
    assert okta_timestamp(DAY_START) == DAY_START.strftime("%Y-%m-%dT%H:%M:%S.000Z")
