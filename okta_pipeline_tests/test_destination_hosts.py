"""A run's config cannot send the deployment's credentials elsewhere: every destination URL
must name a host the deployment's environment allows (its own URL variables, an explicit
list, Slack's hosts) or this machine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from okta_pipeline.defs.alerts.resources import AlertsResource
from okta_pipeline.defs.okta.assets import okta_system_log
from okta_pipeline.defs.okta.resources import OktaResource
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.sinks.resources import OpenObserveResource
from okta_pipeline.defs.storage.resources import LandingZoneResource
from okta_pipeline.lib.destination_hosts import (
    ALLOWED_HOSTS_VARIABLE,
    HostNotAllowedError,
    allowed_hosts,
    require_allowed_host,
)
from okta_pipeline.lib.landing import LandingZone
from okta_pipeline_tests.okta.helpers import (
    PARTITION_FORMAT,
    TOKEN,
    recent_window,
    running_simulator,
)

ENVIRONMENT = {
    "OKTA_BASE_URL": "https://acme.okta.com",
    "JIRA_BASE_URL": "https://acme.atlassian.net/",
    "OPENSEARCH_URL": "https://search-okta.eu-west-1.es.amazonaws.com:443",
    ALLOWED_HOSTS_VARIABLE: " okta-proxy.acme.internal , ",
}


def test_the_deployments_own_hosts_its_list_slack_and_this_machine_are_allowed() -> None:
    assert allowed_hosts(ENVIRONMENT) == {
        "acme.okta.com",
        "acme.atlassian.net",
        "search-okta.eu-west-1.es.amazonaws.com",
        "okta-proxy.acme.internal",
        "slack.com",
        "hooks.slack.com",
    }
    for url in (
        "https://ACME.okta.com/api/v1/logs",
        "https://okta-proxy.acme.internal:8443",
        "https://hooks.slack.com/services/T0/B0/x",
        "http://127.0.0.1:8080",
        "http://localhost:9200",
    ):
        require_allowed_host(url, "a setting", ENVIRONMENT)


@pytest.mark.parametrize(
    "url",
    [
        "https://okta.attacker.example",
        "https://acme.okta.com.attacker.example",
        "https://attacker.example@acme.okta.com.evil",  # userinfo does not make a host
        "not a url",
        "",
    ],
)
def test_any_other_host_is_refused_naming_the_setting_and_how_to_allow_it(url: str) -> None:
    with pytest.raises(HostNotAllowedError) as refused:
        require_allowed_host(url, "the Okta resource's base_url", ENVIRONMENT)
    message = str(refused.value)
    assert "the Okta resource's base_url" in message and ALLOWED_HOSTS_VARIABLE in message
    assert "acme.okta.com" in message  # what is allowed, so a typo is easy to see


def test_every_resource_holding_a_credential_refuses_a_host_not_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in (*ENVIRONMENT, "SLACK_WEBHOOK_URL", "OPENOBSERVE_URL"):
        monkeypatch.delenv(variable, raising=False)
    elsewhere = "https://collector.attacker.example"
    refusals: dict[str, Callable[[], object]] = {
        "Okta": lambda: OktaResource(base_url=elsewhere, api_token="secret").client(),
        "Jira": lambda: AlertsResource(
            jira_base_url=elsewhere, jira_project_key="SEC", jira_email="a@b", jira_api_token="t"
        ).settings(),
        "Slack API": lambda: AlertsResource(slack_api_url=elsewhere).settings(),
        "Slack webhook": lambda: AlertsResource(slack_webhook_url=elsewhere + "/hook").settings(),
        "OpenSearch": lambda: OpenSearchResource(url=elsewhere, password="p").settings(),
        "OpenObserve": lambda: OpenObserveResource(
            url=elsewhere, user="u", password="p"
        ).destination(),
    }
    refused = []
    for name, build in refusals.items():
        with pytest.raises(HostNotAllowedError, match=r"collector\.attacker\.example"):
            build()
        refused.append(name)
    assert len(refused) == 6
    # Slack's default API host needs no listing.
    AlertsResource(slack_bot_token="xoxb-1", slack_channel="C1").settings()


def test_a_run_config_overriding_the_okta_url_fails_before_the_token_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, _ = recent_window()
    with running_simulator() as (app, base_url):
        monkeypatch.setenv("OKTA_BASE_URL", base_url)
        monkeypatch.setenv("OKTA_API_TOKEN", TOKEN)
        resources = {
            "okta": OktaResource(
                base_url=dg.EnvVar("OKTA_BASE_URL"), api_token=dg.EnvVar("OKTA_API_TOKEN")
            ),
            "landing": LandingZoneResource(root=str(tmp_path)),
        }
        partition = start.strftime(PARTITION_FORMAT)
        redirected = dg.materialize(
            [okta_system_log],
            resources=resources,
            partition_key=partition,
            run_config={
                "resources": {"okta": {"config": {"base_url": "https://okta.attacker.example"}}}
            },
            raise_on_error=False,
        )
        served_before = app.stats.log_requests
        assert not redirected.success
        failure = redirected.failure_data_for_node("okta_system_log")
        assert failure is not None and "okta.attacker.example" in str(failure.error)
        assert "HostNotAllowedError" in str(failure.error)
        assert TOKEN not in str(failure.error)
        assert not LandingZone(tmp_path).has_window(start)  # nothing fetched, nothing written

        # The same run without the override fetches from the deployment's own Okta.
        plain = dg.materialize(
            [okta_system_log], resources=resources, partition_key=partition, raise_on_error=False
        )
        assert plain.success and app.stats.log_requests > served_before
