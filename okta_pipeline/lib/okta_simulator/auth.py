"""Authentication as Okta does it: SSWS tokens, and OAuth 2.0 client credentials with a
`private_key_jwt` client assertion, optionally bound to a DPoP key (RFC 9449)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LOGS_SCOPE = "okta.logs.read"
TOKEN_LIFETIME_SECONDS = 3600
_ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
_PROOF_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    public_jwk: Mapping[str, Any]
    require_dpop: bool = False
    scopes: frozenset[str] = frozenset({LOGS_SCOPE})


@dataclass
class AuthRejectedError(Exception):
    status: int
    error: str
    summary: str
    headers: dict[str, str] = field(default_factory=dict)
    okta_code: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    jkt: str | None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the key's required members in lexicographic order."""
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    members = required.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError(f"unsupported key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(token: str) -> str:
    return b64url(hashlib.sha256(token.encode()).digest())


class Authenticator:
    def __init__(
        self,
        api_tokens: frozenset[str] = frozenset(),
        clients: Mapping[str, OAuthClient] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_tokens = api_tokens
        self._clients = dict(clients or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self._seen_jti: dict[str, float] = {}
        self._nonce = secrets.token_urlsafe(24)
        self.tokens_issued = 0

    # -- token endpoint -------------------------------------------------------------------

    def issue_token(
        self, form: Mapping[str, str], dpop_proof: str | None, token_url: str
    ) -> dict[str, Any]:
        """Handle POST /oauth2/v1/token; raise AuthRejectedError with Okta's OAuth error shape."""
        if form.get("grant_type") != "client_credentials":
            raise AuthRejectedError(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise AuthRejectedError(
                401, "invalid_client", "a private_key_jwt client assertion is required"
            )
        client = self._verify_assertion(form["client_assertion"], token_url)
        requested = frozenset(form.get("scope", "").split())
        if not requested or not requested <= client.scopes:
            raise AuthRejectedError(
                400,
                "invalid_scope",
                f"the client may request only: {' '.join(sorted(client.scopes))}",
            )
        jkt = None
        if dpop_proof is not None or client.require_dpop:
            if dpop_proof is None:
                raise AuthRejectedError(
                    400, "invalid_dpop_proof", "DPoP proof JWT header is missing"
                )
            jwk = self._verify_proof(dpop_proof, "POST", token_url, require_nonce=True)
            jkt = jwk_thumbprint(jwk)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = IssuedToken(
                client.client_id, requested, self._clock() + TOKEN_LIFETIME_SECONDS, jkt
            )
            self.tokens_issued += 1
        return {
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": token,
            "scope": " ".join(sorted(requested)),
        }

    def _verify_assertion(self, assertion: str, token_url: str) -> OAuthClient:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            client = self._clients.get(str(unverified.get("iss")))
            if client is None:
                raise AuthRejectedError(401, "invalid_client", "unknown client")
            claims = jwt.decode(
                assertion,
                key=jwt.PyJWK(dict(client.public_jwk)).key,
                algorithms=_ASYMMETRIC,
                audience=token_url,
                issuer=client.client_id,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
                leeway=5,
            )
        except jwt.PyJWTError as error:
            raise AuthRejectedError(
                401, "invalid_client", f"client assertion rejected: {error}"
            ) from None
        if claims["sub"] != client.client_id:
            raise AuthRejectedError(401, "invalid_client", "client assertion sub must equal iss")
        if claims["exp"] - self._clock() > TOKEN_LIFETIME_SECONDS + 5:
            raise AuthRejectedError(
                401, "invalid_client", "client assertion exp is more than 1 hour ahead"
            )
        self._remember_jti(f"assertion:{claims['jti']}", "invalid_client", "client assertion jti")
        return client

    def _verify_proof(
        self,
        proof: str,
        method: str,
        url: str,
        require_nonce: bool,
        access_token: str | None = None,
    ) -> Mapping[str, Any]:
        def reject(reason: str) -> AuthRejectedError:
            challenge = f'DPoP error="invalid_dpop_proof", error_description="{reason}"'
            return AuthRejectedError(
                401 if access_token else 400,
                "invalid_dpop_proof",
                reason,
                {"WWW-Authenticate": challenge},
            )

        try:
            header = jwt.get_unverified_header(proof)
        except jwt.PyJWTError:
            raise reject("DPoP proof is not a JWT") from None
        jwk = header.get("jwk")
        if header.get("typ") != "dpop+jwt" or header.get("alg") not in _ASYMMETRIC:
            raise reject("DPoP proof needs typ dpop+jwt and an asymmetric alg")
        if not isinstance(jwk, dict) or "d" in jwk:
            raise reject("DPoP proof must carry the public jwk")
        try:
            claims = jwt.decode(
                proof,
                key=jwt.PyJWK(jwk).key,
                algorithms=[header["alg"]],
                options={"require": ["htm", "htu", "iat", "jti"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise reject(f"DPoP proof signature or claims invalid: {error}") from None
        if claims["htm"] != method or claims["htu"].split("?")[0] != url.split("?")[0]:
            raise reject("DPoP proof htm/htu do not match the request")
        if abs(self._clock() - float(claims["iat"])) > _PROOF_MAX_AGE_SECONDS:
            raise reject("DPoP proof iat is too old or in the future")
        if require_nonce and claims.get("nonce") != self._nonce:
            rejection = AuthRejectedError(
                400,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
                {"DPoP-Nonce": self._nonce},
            )
            raise rejection
        if access_token is not None and not hmac.compare_digest(
            str(claims.get("ath", "")), access_token_hash(access_token)
        ):
            raise reject("DPoP proof ath does not match the access token")
        self._remember_jti(f"dpop:{claims['jti']}", "invalid_dpop_proof", "DPoP proof jti")
        return jwk

    def _remember_jti(self, key: str, error: str, what: str) -> None:
        now = self._clock()
        with self._lock:
            self._seen_jti = {k: t for k, t in self._seen_jti.items() if t > now}
            if key in self._seen_jti:
                raise AuthRejectedError(401, error, f"{what} was already used (replay)")
            self._seen_jti[key] = now + TOKEN_LIFETIME_SECONDS + 60

    # -- resource requests ----------------------------------------------------------------

    def authorize(self, headers: Mapping[str, str], method: str, url: str) -> None:
        """Check the Authorization header of an API request; raise AuthRejectedError if it fails."""
        authorization = headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme == "SSWS":
            presented = credential.encode()
            if any(hmac.compare_digest(presented, token.encode()) for token in self._api_tokens):
                return
            raise _invalid_token()
        if scheme in ("Bearer", "DPoP"):
            with self._lock:
                issued = self._tokens.get(credential)
            if issued is None or issued.expires_at <= self._clock():
                raise _invalid_token()
            if issued.jkt is not None:
                if scheme != "DPoP":
                    raise AuthRejectedError(
                        401,
                        "invalid_token",
                        "The access token is DPoP-bound: use the DPoP scheme",
                        {"WWW-Authenticate": 'DPoP error="invalid_token"'},
                        "E0000011",
                    )
                proof = headers.get("dpop")
                if not proof:
                    raise AuthRejectedError(
                        401,
                        "invalid_dpop_proof",
                        "DPoP proof missing",
                        {"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'},
                    )
                jwk = self._verify_proof(
                    proof, method, url, require_nonce=False, access_token=credential
                )
                if jwk_thumbprint(jwk) != issued.jkt:
                    raise AuthRejectedError(
                        401,
                        "invalid_dpop_proof",
                        "DPoP key does not match the token binding",
                        {"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'},
                    )
            if LOGS_SCOPE not in issued.scopes:
                raise AuthRejectedError(
                    403,
                    "insufficient_scope",
                    "You do not have permission to perform the requested action",
                    okta_code="E0000006",
                )
            return
        raise _invalid_token()


def _invalid_token() -> AuthRejectedError:
    return AuthRejectedError(401, "invalid_token", "Invalid token provided", okta_code="E0000011")
