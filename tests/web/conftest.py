"""People the page tests share: each test file may still define its own under these names
when it needs someone different."""

from __future__ import annotations

import pytest


@pytest.fixture
def learner(make, organisation, browser):
    """A tactical commander with no other permission, signed in on `browser`."""
    user = make.user(organisation=organisation, name="Lee Learner", command_role="tactical")
    browser.sign_in(user.email)
    return user
