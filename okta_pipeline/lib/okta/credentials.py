"""How requests to Okta are authorized: an SSWS API token, or an OAuth 2.0 service app
(`client_credentials` with a `private_key_jwt` assertion), optionally bound to DPoP."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from okta_pipeline.lib.okta.errors import OktaAuthError, OktaTransientError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LOGS_SCOPE = "okta.logs.read"
# Renew a cached token this long before Okta says it expires.
TOKEN_RENEWAL_MARGIN_SECONDS = 300


class Credentials(Protocol):
    def authorize(self, request: httpx.Request) -> None:
        """Set the Authorization (and, for DPoP, the proof) headers on a request."""

    def invalidate(self) -> None:
        """Forget any cached token, after Okta rejected it."""

    def close(self) -> None:
        """Release connections held for token requests."""


class SswsToken:
    def __init__(self, token: str) -> None:
        if not token.strip():
            raise OktaAuthError("the Okta API token is empty: set OKTA_API_TOKEN")
        self._token = token.strip()

    def authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"SSWS {self._token}"

    def invalidate(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "SswsToken(<redacted>)"


def access_token_hash(token: str) -> str:
    """DPoP's `ath` claim: base64url SHA-256 of the access token."""
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def _load_private_key(pem: str, purpose: str) -> Any:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise OktaAuthError(
            f"the {purpose} is not an unencrypted PEM private key ({type(error).__name__})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise OktaAuthError(f"the {purpose} must be an RSA or EC private key")
    return key


def _algorithm(key: Any) -> str:
    return "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"


def public_jwk(key: Any) -> dict[str, Any]:
    """The public half of a private key as a JWK (what Okta registers, and DPoP proofs carry)."""
    algorithm = (
        jwt.algorithms.RSAAlgorithm
        if isinstance(key, rsa.RSAPrivateKey)
        else (jwt.algorithms.ECAlgorithm)
    )
    jwk: dict[str, Any] = algorithm.to_jwk(key.public_key(), as_dict=True)
    return jwk


class DpopSigner:
    """Makes DPoP proofs (RFC 9449) with a key that is not the client-assertion key."""

    def __init__(self, private_key_pem: str, clock: Callable[[], float] = time.time) -> None:
        self._key = _load_private_key(private_key_pem, "DPoP private key")
        self._jwk = public_jwk(self._key)
        self._clock = clock

    def proof(
        self, method: str, url: str, nonce: str | None = None, token: str | None = None
    ) -> str:
        claims: dict[str, Any] = {
            "htm": method,
            "htu": url.split("?")[0],
            "iat": int(self._clock()),
            "jti": secrets.token_urlsafe(16),
        }
        if nonce:
            claims["nonce"] = nonce
        if token:
            claims["ath"] = access_token_hash(token)
        return jwt.encode(
            claims,
            self._key,
            algorithm=_algorithm(self._key),
            headers={"typ": "dpop+jwt", "jwk": self._jwk},
        )


class ServiceAppCredentials:
    """OAuth 2.0 client credentials for a service app; tokens are cached until near expiry."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        private_key_pem: str,
        key_id: str | None = None,
        dpop_private_key_pem: str | None = None,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._key = _load_private_key(private_key_pem, "OAuth client private key")
        self._key_id = key_id
        self._dpop = DpopSigner(dpop_private_key_pem, clock) if dpop_private_key_pem else None
        self._http = http or httpx.Client(timeout=30)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._nonce: str | None = None
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return (
            f"ServiceAppCredentials(client_id={self._client_id!r}, dpop={self._dpop is not None})"
        )

    def authorize(self, request: httpx.Request) -> None:
        token = self._current_token()
        if self._dpop is None:
            request.headers["Authorization"] = f"Bearer {token}"
            return
        request.headers["Authorization"] = f"DPoP {token}"
        request.headers["DPoP"] = self._dpop.proof(request.method, str(request.url), token=token)

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def close(self) -> None:
        self._http.close()

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._token, lifetime = self._request_token()
                margin = min(TOKEN_RENEWAL_MARGIN_SECONDS, lifetime / 2)
                self._expires_at = self._clock() + lifetime - margin
                self.tokens_fetched += 1
            return self._token

    def _request_token(self) -> tuple[str, int]:
        for _ in range(2):  # a DPoP nonce challenge costs one extra round trip
            headers = {"Accept": "application/json"}
            if self._dpop is not None:
                headers["DPoP"] = self._dpop.proof("POST", self._token_url, nonce=self._nonce)
            try:
                response = self._http.post(
                    self._token_url,
                    data={
                        "grant_type": "client_credentials",
                        "scope": LOGS_SCOPE,
                        "client_assertion_type": ASSERTION_TYPE,
                        "client_assertion": self._assertion(),
                    },
                    headers=headers,
                )
            except httpx.TransportError as error:
                raise OktaTransientError(
                    f"token request failed: {type(error).__name__}: {error}"
                ) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise OktaTransientError(f"token endpoint answered {response.status_code}")
            body = _json_or_empty(response)
            if response.status_code == 400 and body.get("error") == "use_dpop_nonce":
                self._nonce = response.headers.get("dpop-nonce")
                continue
            if response.status_code != 200:
                reason = body.get("error_description", response.text[:200])
                raise OktaAuthError(
                    f"Okta refused the service app's token request ({response.status_code} "
                    f"{body.get('error', '')}: {reason}). "
                    "Check the client id, that the app's public key matches the private key, that "
                    f"the app is granted {LOGS_SCOPE}, and whether it requires DPoP."
                )
            return str(body["access_token"]), int(body.get("expires_in", 3600))
        raise OktaAuthError("Okta kept asking for a new DPoP nonce; giving up")

    def _assertion(self) -> str:
        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._key, algorithm=_algorithm(self._key), headers=headers)


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
