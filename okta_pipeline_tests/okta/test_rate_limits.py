"""Rate-limit arithmetic on both sides: the client's budget and the simulator's limiter."""

from __future__ import annotations

import httpx
import pytest

from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.lib.okta.client import OktaLogClient
from okta_pipeline.lib.okta.credentials import SswsToken
from okta_pipeline.lib.okta.errors import OktaUnavailableError
from okta_pipeline.lib.okta.rate_budget import RateBudget, parse_rate_limit_headers
from okta_pipeline.lib.okta_simulator.rate_limit import RateLimiter

DATE = "Sun, 22 Nov 2026 10:00:20 GMT"  # epoch 1795341620
RESET = 1795341660  # forty seconds later, by the server's clock


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def response(
    limit: int, remaining: int, resets: list[int | str], status: int = 200
) -> httpx.Response:
    headers = [
        ("X-Rate-Limit-Limit", str(limit)),
        ("X-Rate-Limit-Remaining", str(remaining)),
        ("Date", DATE),
    ] + [("X-Rate-Limit-Reset", str(r)) for r in resets]
    return httpx.Response(status, headers=headers)


def test_headers_take_the_earliest_reset_and_the_servers_clock() -> None:
    parsed = parse_rate_limit_headers(response(50, 10, [RESET + 30, RESET]).headers)
    assert parsed is not None
    assert parsed.reset_epoch == RESET and parsed.seconds_to_reset == 40


def test_budget_waits_for_the_reset_once_its_share_is_used() -> None:
    clock = FakeTime()
    budget = RateBudget(
        share=0.5, reset_margin_seconds=1.0, sleep=clock.sleep, monotonic=clock.monotonic
    )
    for remaining in range(9, 4, -1):  # five requests: half of a limit of ten
        budget.before_request()
        budget.after_response(response(10, remaining, [RESET]))
    assert clock.slept == []  # the fifth request used the last of the share (5 of 10)
    budget.before_request()
    assert clock.slept == [pytest.approx(41.0)]  # reset - Date + margin, from the last response


def test_budget_waits_when_the_org_has_nothing_left_even_within_its_share() -> None:
    clock = FakeTime()
    budget = RateBudget(
        share=0.5, sleep=clock.sleep, monotonic=clock.monotonic, reset_margin_seconds=0
    )
    budget.after_response(response(50, 0, [RESET]))  # other integrations used the rest
    budget.before_request()
    assert clock.slept == [pytest.approx(40.0)]


def test_budget_does_not_wait_once_the_window_has_passed_locally() -> None:
    clock = FakeTime()
    budget = RateBudget(share=0.1, sleep=clock.sleep, monotonic=clock.monotonic)
    budget.after_response(response(10, 9, [RESET]))
    clock.now += 60
    budget.before_request()
    assert clock.slept == []


def test_a_429_waits_until_the_reset_and_at_least_a_second() -> None:
    clock = FakeTime()
    budget = RateBudget(
        share=1.0, reset_margin_seconds=0, sleep=clock.sleep, monotonic=clock.monotonic
    )
    budget.wait_after_rejection(response(50, 0, [RESET], status=429))
    budget.wait_after_rejection(httpx.Response(429))  # no headers at all
    assert clock.slept == [pytest.approx(40.0), pytest.approx(1.0)]


@pytest.mark.parametrize("share", [0, 1.5])
def test_share_must_be_a_fraction(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        RateBudget(share=share)


def test_simulator_limits_per_window_and_resets() -> None:
    now = [120.2]
    limiter = RateLimiter(limit_per_window=2, window_seconds=60, clock=lambda: now[0])
    admissions = [limiter.acquire() for _ in range(3)]
    for admission in admissions:
        if admission.allowed:
            limiter.release()
    assert [a.allowed for a in admissions] == [True, True, False]
    assert [a.remaining for a in admissions] == [1, 0, 0]
    assert {a.reset_epoch_seconds for a in admissions} == {180}
    now[0] = 180.0
    assert limiter.acquire().allowed


def test_simulator_concurrency_cap_answers_429_with_limit_zero() -> None:
    limiter = RateLimiter(limit_per_window=100, max_in_flight=2)
    assert limiter.acquire().allowed and limiter.acquire().allowed
    over = limiter.acquire()
    assert not over.allowed and over.over_concurrency and (over.limit, over.remaining) == (0, 0)
    limiter.release()
    assert limiter.acquire().allowed


def test_budget_counts_what_other_runs_used_from_the_orgs_headers() -> None:
    """Another run of the pipeline spends the same org's window: this one stops once the org
    as a whole has used the share, not once it has itself."""
    clock = FakeTime()
    budget = RateBudget(
        share=0.5, sleep=clock.sleep, monotonic=clock.monotonic, reset_margin_seconds=0
    )
    budget.after_response(response(10, 9, [RESET]))  # ours: the org has 9 left
    budget.before_request()
    budget.after_response(response(10, 5, [RESET]))  # ours, after three of the other run's
    assert clock.slept == []
    budget.before_request()  # the org used 5 of 10: the share is spent, by both runs together
    assert clock.slept == [pytest.approx(40.0)]


FAR = RESET + 10**9  # a reset a billion seconds away: a rewritten header, not an Okta window


def capped_budget(clock: FakeTime, **cap: float) -> RateBudget:
    """A budget with the default cap on waits (120 s) unless `max_reset_wait_seconds` is given."""
    return RateBudget(
        share=0.5, reset_margin_seconds=1.0, sleep=clock.sleep, monotonic=clock.monotonic, **cap
    )


def test_a_429_with_a_reset_past_the_cap_raises_instead_of_sleeping() -> None:
    clock = FakeTime()
    with pytest.raises(OktaUnavailableError, match=r"1000000040 s, over the cap of 120 s"):
        capped_budget(clock).wait_after_rejection(response(50, 0, [FAR], status=429))
    assert clock.slept == []


def test_a_reset_within_the_cap_is_still_waited_out() -> None:
    clock = FakeTime()
    budget = capped_budget(clock, max_reset_wait_seconds=40)
    budget.wait_after_rejection(response(50, 0, [RESET], status=429))
    assert clock.slept == [pytest.approx(41.0)]


def test_a_spent_share_with_a_reset_past_the_cap_raises_before_the_next_request() -> None:
    clock = FakeTime()
    budget = capped_budget(clock)
    budget.after_response(response(10, 4, [FAR]))  # the org is down to the share's rest
    with pytest.raises(OktaUnavailableError, match="max_reset_wait_seconds"):
        budget.before_request()
    assert clock.slept == []


def test_a_wrong_date_header_that_inflates_the_wait_is_capped() -> None:
    clock = FakeTime()
    rejection = response(50, 0, [RESET], status=429)
    rejection.headers["Date"] = "Thu, 01 Jan 1970 00:00:00 GMT"  # a proxy's broken clock
    with pytest.raises(OktaUnavailableError, match="Date"):
        capped_budget(clock).wait_after_rejection(rejection)
    assert clock.slept == []


@pytest.mark.parametrize("reset", ["inf", "nan", "-inf"])
def test_non_finite_resets_are_ignored_not_slept_on(reset: str) -> None:
    clock = FakeTime()
    budget = capped_budget(clock)
    assert parse_rate_limit_headers(response(10, 0, [reset]).headers) is None
    budget.after_response(response(10, 0, [reset]))
    budget.before_request()
    budget.wait_after_rejection(response(10, 0, [reset], status=429))
    assert clock.slept == [pytest.approx(1.0)]  # a 429 without usable headers: one second


def test_the_client_stops_on_a_429_whose_reset_is_past_the_cap() -> None:
    clock = FakeTime()
    transport = httpx.MockTransport(lambda _: response(50, 0, [FAR], status=429))
    client = OktaLogClient(
        "https://example.okta.com",
        SswsToken("token"),
        budget=capped_budget(clock),
        http=httpx.Client(transport=transport),
        sleep=clock.sleep,
    )
    with pytest.raises(OktaUnavailableError, match="X-Rate-Limit-Reset"):
        client._get("https://example.okta.com/api/v1/logs", None)
    assert clock.slept == [] and client.stats.requests == 1


def test_the_resource_passes_its_cap_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_BASE_URL", "https://example.okta.com")
    resource = OktaResource(
        base_url="https://example.okta.com", api_token="token", max_reset_wait_seconds=30
    )
    assert resource.client().budget.max_reset_wait_seconds == 30
    with pytest.raises(ValueError, match="max_reset_wait_seconds"):
        RateBudget(max_reset_wait_seconds=0)
