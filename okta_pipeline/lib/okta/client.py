"""Fetch Okta System Log events for a time range with bounded, ordered requests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from okta_pipeline.lib.loopback import is_loopback
from okta_pipeline.lib.okta.credentials import Credentials
from okta_pipeline.lib.okta.errors import (
    OktaError,
    OktaRequestError,
    OktaTransientError,
    OktaUnavailableError,
    hint_for,
)
from okta_pipeline.lib.okta.rate_budget import RateBudget

log = logging.getLogger(__name__)

LOGS_PATH = "/api/v1/logs"
MAX_PAGE_SIZE = 1000
MAX_EMPTY_PAGES_IN_A_ROW = 20
"""A bounded query ends with a page without a `next` link; this many empty pages in a row with
a `next` link each means the paging does not end."""


@dataclass
class FetchStats:
    requests: int = 0
    pages: int = 0
    events: int = 0
    rate_limited: int = 0
    retries: int = 0
    waited_seconds: float = 0.0


def okta_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Okta writes `published`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def validate_base_url(base_url: str) -> str:
    """https only, except for a simulator on this machine."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OktaError(
            f"the Okta base URL must look like https://<org>.okta.com, got {base_url!r}"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise OktaError(
            f"refusing plain http to {parts.hostname}: use https (http is allowed only for a "
            "simulator on 127.0.0.1)"
        )
    return f"{parts.scheme}://{parts.netloc}"


class OktaLogClient:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        budget: RateBudget | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_attempts: int = 6,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        max_rate_limit_waits: int = 30,
        timeout_seconds: float = 60.0,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self._credentials = credentials
        self.budget = budget or RateBudget()
        self._page_size = min(max(1, page_size), MAX_PAGE_SIZE)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._max_rate_limit_waits = max_rate_limit_waits
        self._http = http or httpx.Client(timeout=timeout_seconds)
        self._sleep = sleep
        self.stats = FetchStats()

    def close(self) -> None:
        self._http.close()
        self._credentials.close()

    def fetch_range(
        self, start: datetime, end: datetime, filter_expression: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events published in [start, end), in published order, following `next` links."""
        params: dict[str, str] | None = {
            "since": okta_timestamp(start),
            "until": okta_timestamp(end),
            "limit": str(self._page_size),
            "sortOrder": "ASCENDING",
        }
        if filter_expression and params is not None:
            params["filter"] = filter_expression
        url: str | None = self.base_url + LOGS_PATH
        followed: set[str] = set()
        empty_in_a_row = 0
        while url is not None:
            response = self._get(url, params)
            try:
                page = response.json()
            except ValueError:
                page = None
            if not isinstance(page, list):
                raise OktaUnavailableError(
                    f"Okta answered {url.split('?')[0]} with {type(page).__name__}, not a JSON "
                    "list of events; is the base URL an Okta org?"
                )
            self.stats.pages += 1
            self.stats.events += len(page)
            yield from page
            empty_in_a_row = 0 if page else empty_in_a_row + 1
            url, params = self._next_url(response), None
            if url is None:
                break
            if url in followed:
                raise OktaUnavailableError(
                    f"Okta's next link repeats one already followed after {self.stats.pages} "
                    f"pages ({url.split('?')[0]}): the paging would loop. The events before it "
                    "were read; re-run the partition, and if it repeats, report it to Okta."
                )
            if empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW:
                raise OktaUnavailableError(
                    f"Okta answered {empty_in_a_row} empty pages in a row, each with a next "
                    f"link, for {okta_timestamp(start)} to {okta_timestamp(end)}: the paging "
                    "does not end. Re-run the partition later."
                )
            followed.add(url)

    def _next_url(self, response: httpx.Response) -> str | None:
        """The `next` link, only if it stays on the configured Okta origin: credentials are
        attached to it, so a link to another host or scheme is refused."""
        link = response.links.get("next", {}).get("url")
        if link is None:
            return None
        parts = urlsplit(link)
        if f"{parts.scheme}://{parts.netloc}" != self.base_url:
            raise OktaError(
                f"Okta's next link points to {parts.scheme}://{parts.hostname}, not "
                f"{self.base_url}; refusing to send credentials there. Check for a proxy "
                "rewriting Link headers."
            )
        return link

    def _get(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception_type(OktaTransientError),
            wait=wait_random_exponential(multiplier=self._backoff, max=self._max_backoff),
            stop=stop_after_attempt(self._max_attempts),
            before_sleep=lambda _: self._count_retry(),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_within_rate_limit(url, params)
        except OktaTransientError as error:
            raise OktaUnavailableError(
                f"Okta kept failing after {self._max_attempts} attempts ({error}); nothing was "
                "lost: re-run the partition once Okta recovers."
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _count_retry(self) -> None:
        self.stats.retries += 1

    def _get_within_rate_limit(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        refreshed_token = False
        for _ in range(self._max_rate_limit_waits + 1):
            self.budget.before_request()
            request = self._http.build_request("GET", url, params=params)
            self._credentials.authorize(request)
            try:
                response = self._http.send(request)
            except httpx.UnsupportedProtocol as error:
                raise OktaError(f"cannot reach Okta at {self.base_url}: {error}") from None
            except (httpx.TimeoutException, httpx.TransportError) as error:
                self.stats.requests += 1
                if "CERTIFICATE_VERIFY_FAILED" in str(error):
                    raise OktaError(
                        f"TLS verification of {self.base_url} failed ({error}); if a proxy "
                        "intercepts TLS, point SSL_CERT_FILE at a CA bundle that includes its "
                        "CA (the client trusts certifi's bundle, not the system store)"
                    ) from None
                raise OktaTransientError(f"{type(error).__name__}: {error}") from None
            self.stats.requests += 1
            self.budget.after_response(response)
            self.stats.waited_seconds = self.budget.waited_seconds
            status = response.status_code
            log.debug("GET %s -> %s", url.split("?")[0], status)
            if status == 429:
                self.stats.rate_limited += 1
                self.budget.wait_after_rejection(response)
                self.stats.waited_seconds = self.budget.waited_seconds
                continue
            if status >= 500:
                raise OktaTransientError(f"HTTP {status}")
            if status == 401 and not refreshed_token:
                self._credentials.invalidate()  # a cached OAuth token may have been revoked
                refreshed_token = True
                continue
            if status >= 400:
                raise OktaRequestError(status, _json_or_text(response), hint_for(status))
            return response
        raise OktaUnavailableError(
            f"Okta answered 429 (rate limited) {self._max_rate_limit_waits} times in a row; "
            "another integration may be using the org's whole limit. Lower its usage or this "
            "pipeline's share, then re-run."
        )


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]
