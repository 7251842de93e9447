"""The simulator speaks Okta's API: modes, paging, cursors, filters, errors and realism."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from okta_pipeline.lib.okta.client import okta_timestamp
from okta_pipeline.lib.okta_simulator.api import Request, Response, SimulatorApp
from okta_pipeline.lib.okta_simulator.auth import Authenticator
from okta_pipeline.lib.okta_simulator.rate_limit import RateLimiter
from okta_pipeline.lib.okta_simulator.scim_filter import FilterError, parse_filter
from okta_pipeline.lib.okta_simulator.sources import (
    EventSource,
    PersistenceDelay,
    ReplaySource,
    SimulatedOrg,
)
from okta_pipeline_tests.okta.helpers import TOKEN, recent_window, running_simulator

# Real Okta events recorded by others, kept beside the repository (not copied into it).
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "okta-samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason="the shared okta-samples folder is not beside this checkout"
)


def make_app(
    source: EventSource | None = None, clock: float | None = None, limit: int = 1000
) -> SimulatorApp:
    """The API without a socket (fast); `clock` pins the simulated "now"."""
    return SimulatorApp(
        source or SimulatedOrg(seed=11, events_per_minute=40),
        Authenticator(api_tokens=frozenset({TOKEN})),
        RateLimiter(limit),
        clock=(lambda: clock) if clock is not None else time.time,
    )


def get(app: SimulatorApp, params: dict[str, str] | str, token: str = TOKEN) -> Response:
    query = params if isinstance(params, str) else urlencode(params)
    return app.handle(
        Request("GET", "/api/v1/logs", query, {"authorization": f"SSWS {token}"}, b"", "http://sim")
    )


def links(response: Response) -> dict[str, str]:
    found = {}
    for name, value in response.headers:
        if name == "Link":
            url, rel = value.split(";")
            found[rel.split('"')[1]] = url.strip("<> ")
    return found


def follow(app: SimulatorApp, response: Response) -> list[dict[str, object]]:
    events = list(response.body)
    while "next" in links(response):
        response = get(app, urlsplit(links(response)["next"]).query)
        assert response.status == 200
        events.extend(response.body)
    return events


def test_bounded_paging_is_ordered_complete_and_ends_without_next() -> None:
    app = make_app()
    start, end = recent_window()
    first = get(app, {"since": okta_timestamp(start), "until": okta_timestamp(end), "limit": "250"})
    assert first.status == 200 and "self" in links(first)
    events = follow(app, first)
    source = app.source.published_between(
        int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    )
    assert [e["uuid"] for e in events] == [s.uuid for s in source]
    published = [str(e["published"]) for e in events]
    assert published == sorted(published)


def test_descending_order_pages_backwards_over_the_same_events() -> None:
    app = make_app()
    start, end = recent_window(span=timedelta(minutes=20))
    ascending = follow(
        app, get(app, {"since": okta_timestamp(start), "until": okta_timestamp(end)})
    )
    descending = follow(
        app,
        get(
            app,
            {
                "since": okta_timestamp(start),
                "until": okta_timestamp(end),
                "sortOrder": "DESCENDING",
                "limit": "37",
            },
        ),
    )
    assert [e["uuid"] for e in descending] == [e["uuid"] for e in reversed(ascending)]


def test_polling_follows_persistence_time_and_always_links_next() -> None:
    org = SimulatedOrg(
        seed=5,
        events_per_minute=60,
        delay=PersistenceDelay(fast_max_ms=500, late_fraction=0.3, late_max_ms=90_000),
    )
    start, _ = recent_window()
    now = start.timestamp() + 20 * 60
    app = make_app(org, clock=now)
    response = get(app, {"since": okta_timestamp(start), "limit": "1000"})
    assert "next" in links(response)
    events = list(response.body)
    published = [e["published"] for e in events]
    assert published != sorted(published), "polling returns events in persistence order"
    empty = get(
        app,
        urlsplit(
            links(get(app, {"since": okta_timestamp(start + timedelta(minutes=25))}))["next"]
        ).query,
    )
    assert empty.status == 200 and empty.body == [] and "next" in links(empty)


def test_late_events_are_invisible_to_bounded_queries_until_persisted() -> None:
    org = SimulatedOrg(
        seed=3,
        events_per_minute=120,
        delay=PersistenceDelay(fast_max_ms=200, late_fraction=0.25, late_max_ms=120_000),
    )
    start, end = recent_window(span=timedelta(minutes=5))
    params = {"since": okta_timestamp(start), "until": okta_timestamp(end), "limit": "1000"}
    just_after, much_later = (
        make_app(org, clock=end.timestamp() + 1),
        make_app(org, clock=end.timestamp() + 600),
    )
    early = follow(just_after, get(just_after, params))
    late = follow(much_later, get(much_later, params))
    assert len(early) < len(late)
    assert {e["uuid"] for e in early} < {e["uuid"] for e in late}


def test_tampered_or_foreign_cursors_are_rejected() -> None:
    app = make_app()
    start, end = recent_window()
    response = get(
        app, {"since": okta_timestamp(start), "until": okta_timestamp(end), "limit": "10"}
    )
    query = urlsplit(links(response)["next"]).query
    tampered = query.replace("after=", "after=x")
    rejected = get(app, tampered)
    assert rejected.status == 400 and rejected.body["errorCode"] == "E0000001"
    other_query = query.replace("limit=10", "limit=10&filter=eventType+eq+%22x%22")
    assert get(app, other_query).status == 400


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ('eventType eq "user.session.start"', True),
        ('eventType ne "user.session.start"', False),
        ('eventType sw "user.session"', True),
        ('actor.alternateId co "@example.com"', True),
        ('target.type eq "AppInstance"', False),
        ('outcome.result eq "FAILURE" or outcome.result eq "SUCCESS"', True),
        ('outcome.result eq "FAILURE" and eventType eq "user.session.start"', False),
        ("securityContext.asNumber gt 7000 and client.ipAddress pr", True),
        ('not (eventType eq "user.session.start")', False),
        ("target pr", False),
    ],
)
def test_scim_filter_semantics(expression: str, matches: bool) -> None:
    event = {
        "eventType": "user.session.start",
        "actor": {"alternateId": "ada.berg@example.com"},
        "outcome": {"result": "SUCCESS"},
        "client": {"ipAddress": "73.93.12.9"},
        "securityContext": {"asNumber": 7922},
        "target": None,
    }
    assert parse_filter(expression)(event) is matches


def test_filter_matches_any_target() -> None:
    event = {"target": [{"type": "User", "id": "00u1"}, {"type": "UserGroup", "id": "00g2"}]}
    assert parse_filter('target.type eq "UserGroup" and target.id eq "00u1"')(event)


@pytest.mark.parametrize(
    "bad", ['published gt "2024-01-01"', 'eventType eqq "x"', 'eventType eq "x" and', "nope.x pr"]
)
def test_invalid_filters_are_named(bad: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(bad)


def test_errors_have_oktas_shape_and_name_the_cause() -> None:
    app = make_app()
    cases = {
        "bad date": get(app, {"since": "yesterday"}),
        "bad filter": get(app, {"filter": 'published gt "x"'}),
        "beyond retention": get(
            app, {"since": okta_timestamp(datetime.now(UTC) - timedelta(days=200))}
        ),
        "bad token": get(app, {}, token="wrong"),
        "too many keywords": get(app, {"q": " ".join(["a"] * 11)}),
    }
    expected = {
        "bad date": (400, "E0000001"),
        "bad filter": (400, "E0000053"),
        "beyond retention": (400, "E0000053"),
        "bad token": (401, "E0000011"),
        "too many keywords": (400, "E0000001"),
    }
    for name, response in cases.items():
        assert (response.status, response.body["errorCode"]) == expected[name], name
        assert set(response.body) == {
            "errorCode",
            "errorSummary",
            "errorLink",
            "errorId",
            "errorCauses",
        }
    assert "180 days" in cases["beyond retention"].body["errorCauses"][0]["errorSummary"]


def test_limit_defaults_to_100_and_caps_at_1000() -> None:
    app = make_app(SimulatedOrg(seed=2, events_per_minute=300))
    start, end = recent_window(span=timedelta(hours=2))
    bounded = {"since": okta_timestamp(start), "until": okta_timestamp(end)}
    assert len(get(app, bounded).body) == 100
    assert len(get(app, bounded | {"limit": "5000"}).body) == 1000


def test_keyword_search_is_case_insensitive_and_conjunctive() -> None:
    app = make_app()
    start, end = recent_window()
    bounded = {"since": okta_timestamp(start), "until": okta_timestamp(end), "limit": "1000"}
    hits = follow(app, get(app, bounded | {"q": "LOGOUT okta"}))
    assert hits and all(e["eventType"] == "user.session.end" for e in hits)


def test_same_seed_same_events_different_seed_different_events() -> None:
    start, end = recent_window(span=timedelta(minutes=30))
    window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    one = [s.event for s in SimulatedOrg(seed=4).published_between(*window)]
    again = [s.event for s in SimulatedOrg(seed=4).published_between(*window)]
    other = [s.event for s in SimulatedOrg(seed=5).published_between(*window)]
    assert one == again and one != other


def test_some_users_sign_in_with_mixed_case_logins_okta_keeps_as_entered() -> None:
    people = SimulatedOrg(seed=4).directory.people
    logins = [p.login for p in people]
    mixed = [login for login in logins if login != login.lower()]
    assert len(mixed) >= len(people) // 10  # e.g. Ana.Lopez@example.com
    assert len({login.lower() for login in logins}) == len(logins)  # unique ignoring case
    start, end = recent_window(span=timedelta(minutes=30))
    window = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    published = SimulatedOrg(seed=4).published_between(*window)
    actors = {s.event["actor"]["alternateId"] for s in published}
    assert actors & set(mixed), "their events carry the login in the case Okta keeps"


@needs_samples
def test_generated_events_have_oktas_shape() -> None:
    """Compared with real events recorded from Okta tenants (../shared/okta-samples)."""
    real = [json.loads(line) for line in (SAMPLES / "elastic-integration-tests.jsonl").open()]
    required = set.intersection(*(set(e) for e in real)) - {"device"}
    start, end = recent_window(span=timedelta(hours=2))
    events = [
        s.event
        for s in SimulatedOrg(seed=8).published_between(
            int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        )
    ]
    for event in events:
        assert required <= set(event), set(required) - set(event)
        assert event["published"].endswith("Z") and len(event["published"]) == 24
    jobs = [e for e in events if e["transaction"]["type"] == "JOB"]
    assert jobs and all(
        e["client"]["geographicalContext"] is None and e["request"]["ipChain"] == [] for e in jobs
    )
    web = [e for e in events if e["transaction"]["type"] == "WEB"]
    assert all(isinstance(e["debugContext"]["debugData"]["requestId"], str) for e in web)
    blobs = [e["debugContext"]["debugData"].get("behaviors") for e in web]
    assert any(b and b.startswith("{New Geo-Location=") for b in blobs)


def test_every_scenario_is_injected_and_labelled() -> None:
    from okta_pipeline.lib.okta_simulator.scenarios import SCENARIOS

    start, end = recent_window(span=timedelta(hours=2))
    truth = SimulatedOrg(seed=1).truth_between(
        int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    )
    assert set(truth) == {s.name for s in SCENARIOS}
    assert (
        SimulatedOrg(seed=1, scenario_period_minutes=None).truth_between(
            int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        )
        == {}
    )


@needs_samples
def test_replay_serves_recorded_events_unchanged_or_shifted() -> None:
    recording = SAMPLES / "elastic-integration-tests.jsonl"
    original = [json.loads(line) for line in recording.open()]
    source = ReplaySource(recording)
    newest = max(datetime.fromisoformat(e["published"].replace("Z", "+00:00")) for e in original)
    now = newest + timedelta(days=1)  # replay as of the recording's own time
    since, until = now - timedelta(days=89), now
    app = make_app(source, clock=now.timestamp())
    params = {"since": okta_timestamp(since), "until": okta_timestamp(until), "limit": "1000"}
    served = follow(app, get(app, params))
    expected = sorted(
        (e for e in original if okta_timestamp(since) <= e["published"] < okta_timestamp(until)),
        key=lambda e: (e["published"], e["uuid"]),
    )
    assert served and served == expected

    shift_ms = 10 * 24 * 3600 * 1000
    shifted = list(ReplaySource(recording, shift_ms=shift_ms).published_between(0, 2**62))
    assert len(shifted) == len(original)
    first = min(original, key=lambda e: e["published"])
    moved = next(s.event for s in shifted if s.uuid == first["uuid"])
    assert moved["published"] > first["published"]
    assert {k: v for k, v in moved.items() if k != "published"} == {
        k: v for k, v in first.items() if k != "published"
    }


def test_over_a_real_socket_headers_and_links_are_separate_fields() -> None:
    start, end = recent_window()
    with running_simulator() as (_, base_url), httpx.Client() as http:
        response = http.get(
            f"{base_url}/api/v1/logs",
            params={"since": okta_timestamp(start), "until": okta_timestamp(end), "limit": "5"},
            headers={"Authorization": f"SSWS {TOKEN}"},
        )
    assert response.status_code == 200
    assert len(response.headers.get_list("link")) == 2
    assert response.links["next"]["url"].startswith(base_url)
    for header in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset", "date"):
        assert header in response.headers


def test_until_before_since_and_odd_tokens_get_okta_errors() -> None:
    app = make_app()
    start, end = recent_window()
    backwards = get(app, {"since": okta_timestamp(end), "until": okta_timestamp(start)})
    assert (backwards.status, backwards.body["errorCode"]) == (400, "E0000001")
    assert get(app, {}, token="tökén-ünicode").status == 401
