"""Errors from talking to Okta, each saying what went wrong and what to do about it."""

from __future__ import annotations

from typing import Any


class OktaError(RuntimeError):
    """Base class: the message is written for the person running the pipeline."""


class OktaAuthError(OktaError):
    """Credentials are missing, malformed or refused."""


class OktaRequestError(OktaError):
    """Okta answered 4xx: retrying the same request cannot help."""

    def __init__(self, status: int, body: Any, hint: str) -> None:
        self.status = status
        self.error_code = body.get("errorCode") if isinstance(body, dict) else None
        summary = body.get("errorSummary") if isinstance(body, dict) else None
        causes = [
            c.get("errorSummary", "")
            for c in (body.get("errorCauses") or [] if isinstance(body, dict) else [])
            if isinstance(c, dict)
        ]
        detail = "; ".join(filter(None, [summary, *causes])) or str(body)[:300]
        code = f" {self.error_code}" if self.error_code else ""
        super().__init__(f"Okta rejected the request ({status}{code}: {detail}). {hint}")


class OktaTransientError(OktaError):
    """A failure worth retrying with backoff: 5xx, 429, a timeout or a broken connection."""


class OktaUnavailableError(OktaError):
    """Okta kept failing (5xx, timeouts, rate limits) after every retry."""


def hint_for(status: int) -> str:
    if status == 401:
        return (
            "Check the credentials: OKTA_API_TOKEN for an SSWS token, or the service app's "
            "client id and private key; tokens of deactivated admins stop working."
        )
    if status == 403:
        return (
            "The credentials lack permission: an API token needs a read-only admin or "
            "better; a service app needs the okta.logs.read scope granted."
        )
    if status == 404:
        return "Check the Okta base URL (https://<your-org>.okta.com)."
    return "Fix the request parameters; the pipeline will not retry it."
