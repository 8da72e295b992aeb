"""The ID token checks and the client secrets' encryption, on tokens signed here with keys
made here (the end-to-end tests use a real provider: tests/sso/test_sso_untrusted_tokens.py and
the other tests/test_sso_*.py)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from jesip_learn.sso import client_secrets, protocol
from jesip_learn.sso.sign_in import SsoSettings

ISSUER = "https://idp.example.org"
JWKS_URI = "https://idp.example.org/jwks"
CLIENT = "jesip-learn"
NONCE = "n" * 43
METADATA = protocol.Metadata(issuer=ISSUER, authorization_endpoint=f"{ISSUER}/authorize",
                             token_endpoint=f"{ISSUER}/token", jwks_uri=JWKS_URI,
                             end_session_endpoint="", signing_algorithms=("RS256",),
                             token_auth_methods=("client_secret_basic",))


@pytest.fixture
def signing_key():
    key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "alg": "RS256", "use": "sig"})
    protocol.forget_kept_documents()
    protocol._key_sets.put(JWKS_URI, KeySet.import_key_set(
        {"keys": [key.as_dict(private=False)]}))
    yield key
    protocol.forget_kept_documents()


def claims(**changes):
    now = int(time.time())
    found = {"iss": ISSUER, "sub": "subject-1", "aud": CLIENT, "exp": now + 300, "iat": now,
             "nonce": NONCE}
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def signed(key, header=None, **changes) -> str:
    return jwt.encode(header or {"alg": "RS256", "kid": "key-1"}, claims(**changes), key)


def check(token: str, **options):
    return protocol.verify_id_token(token, metadata=METADATA, client_id=CLIENT,
                                    expected_issuer=lambda _claims: ISSUER, nonce=NONCE,
                                    **options)


def reason(token: str, **options) -> str:
    with pytest.raises(protocol.AnswerRefused) as refused:
        check(token, **options)
    return refused.value.reason


def test_a_good_token_gives_its_claims(signing_key):
    assert check(signed(signing_key))["sub"] == "subject-1"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"iss": "https://elsewhere.example.org"}, "issuer"),
    ({"aud": "another-application"}, "audience"),
    ({"aud": [CLIENT, "another-application"]}, "audience"),  # several audiences and no azp
    ({"exp": int(time.time()) - 120}, "expired"),
    ({"iat": int(time.time()) + 600}, "issued-in-future"),
    ({"nonce": "another sign-in's nonce"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"exp": None}, "claims"),
    ({"sub": None}, "claims"),
])
def test_each_claim_is_checked(signing_key, changes, expected):
    assert reason(signed(signing_key, **changes)) == expected


def test_several_audiences_pass_with_this_client_as_the_authorised_party(signing_key):
    token = signed(signing_key, aud=[CLIENT, "another-application"], azp=CLIENT)
    assert check(token)["azp"] == CLIENT


def test_the_clock_difference_allowed_is_limited(signing_key):
    late = signed(signing_key, exp=int(time.time()) - 30)
    assert check(late, leeway=60)
    assert reason(late, leeway=0) == "expired"
    # A setting of hours is capped at five minutes.
    assert reason(signed(signing_key, exp=int(time.time()) - 3600), leeway=7200) == "expired"


def test_unsigned_and_secret_keyed_tokens_are_refused(signing_key):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    assert reason(f"{header.decode()}.{body.decode()}.") == "signature"
    shared = OctKey.import_key("the client secret, which the provider also knows")
    assert reason(jwt.encode({"alg": "HS256"}, claims(), shared)) == "signature"


def test_a_token_signed_by_another_key_is_refused(signing_key):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "key-1", "alg": "RS256"})
    assert reason(signed(stranger)) == "signature"
    assert reason("not a token at all") == "signature"


def test_client_secrets_are_sealed_with_a_key_derived_from_the_settings():
    sealed = client_secrets.seal("the secret", "key material")
    assert "the secret" not in sealed
    assert client_secrets.unseal(sealed, "key material") == "the secret"
    with pytest.raises(client_secrets.SecretUnavailable, match="Enter the secret again"):
        client_secrets.unseal(sealed, "other key material")
    assert SsoSettings.from_config({"SECRET_KEY": "a", "SSO_SECRET_KEY": "b"}).secret_key == "b"
    assert SsoSettings.from_config({"SECRET_KEY": "a", "SSO_SECRET_KEY": ""}).secret_key == "a"


def test_only_https_or_loopback_addresses_are_used():
    assert protocol.is_acceptable_url("https://login.microsoftonline.com/x")
    assert protocol.is_acceptable_url("http://127.0.0.1:8080/x")
    assert not protocol.is_acceptable_url("http://login.example.org/x")
    assert not protocol.is_acceptable_url("file:///etc/passwd")
    with pytest.raises(protocol.ProviderUnavailable):
        protocol.provider_metadata("http://idp.example.org/.well-known/openid-configuration",
                                   timeout=1, expected_issuer=None)
