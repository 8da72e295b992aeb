"""A save that fails at the end of a request gets the error page, never a bare 500."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session


def fail_commits_with(monkeypatch, error: Exception) -> None:
    def commit(self):
        raise error

    monkeypatch.setattr(Session, "commit", commit)


@pytest.mark.parametrize("error, status, heading", [
    (OperationalError("COMMIT", {}, Exception("database is locked")), 503,
     "Sorry, the service is busy"),
    (IntegrityError("INSERT", {}, Exception("duplicate key value")), 500,
     "Sorry, there is a problem with the service"),
])
def test_a_signed_in_persons_failed_save_shows_the_error_page(browser, make, organisation,
                                                               monkeypatch, error, status,
                                                               heading):
    learner = make.user(organisation=organisation, name="Sam Saver")
    browser.sign_in(learner.email)
    token = browser.get("/account/two-step").csrf_token()
    fail_commits_with(monkeypatch, error)
    response = browser.client.post("/account/two-step/set-up",
                                   data={"csrf_token": token, "code": "123456"})
    monkeypatch.undo()
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert heading in page
    assert "Your account" in page  # the signed-in navigation rendered
    assert "Content-Security-Policy" in response.headers
    if status == 503:
        assert response.headers["Retry-After"] == "5"
        assert "Nothing you sent was saved" in page
    else:
        assert "Traceback" not in page and "duplicate key" not in page
