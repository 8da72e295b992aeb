"""Single sign-on against the test OpenID provider: every test here runs with an app
pointed at the provider and fetches its documents afresh. Helpers are in
tests/support/sso_sign_in.py; the provider's registration here, `entra`, in tests/conftest.py."""

from __future__ import annotations

import pytest

from jesip_learn.factory import create_app
from jesip_learn.sso import protocol
from tests.support.openid_provider import OpenIdProvider, ProviderUnavailable
from tests.support.sso_sign_in import A_DOMAIN, B_DOMAIN, CALLBACK, SITE, TENANT_A, TENANT_B
from tests.support.web import app_settings


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    provider = OpenIdProvider(tmp_path_factory.mktemp("openid-provider"),
                              tenants={TENANT_A: [A_DOMAIN], TENANT_B: [B_DOMAIN]},
                              redirect_uris=[CALLBACK],
                              post_logout_redirect_uris=[f"{SITE}/sign-in"])
    try:
        provider.start()
    except ProviderUnavailable as error:
        pytest.fail(f"The single sign-on tests need the test OpenID provider: {error}")
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def fresh_provider_documents(idp):
    """Each test fetches discovery documents and keys afresh, with the provider's clock right."""
    protocol.forget_kept_documents()
    yield
    idp.set_clock(0)


@pytest.fixture
def app(transactional_db, tmp_path, idp):
    return create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path,
                                   SSO_ENTRA_AUTHORITY=idp.authority))
