"""Rate-limit arithmetic on both sides: the client's budget and the simulator's limiter."""

from __future__ import annotations

import httpx
import pytest

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


def response(limit: int, remaining: int, resets: list[int], status: int = 200) -> httpx.Response:
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
