"""A domain refusal that no view catches is its 403 or 404 page, never a 500, and nothing the
request wrote before it is kept; a view that shows a form error after a failed write keeps
nothing of it either."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select

from jesip_learn.accounts.models import Organisation
from jesip_learn.core import refusals
from jesip_learn.courses import authoring
from jesip_learn.web import access
from jesip_learn.web.access import Audience
from jesip_learn.web.edge import abandon_changes, db
from tests.support.factories import make_organisation
from tests.support.pages import read_page

REFUSALS = {
    "not-allowed": refusals.NotAllowed("You cannot change this organisation."),
    "not-found": refusals.NotFound("There is no such organisation."),
    "authoring-not-allowed": authoring.NotAllowed("You can't edit DEMO101."),
    "authoring-not-found": authoring.NotFound("There is no page called intro.md."),
    "reason-only": refusals.NotAllowed(reason="not in the actor's scope"),
}


@pytest.fixture
def refusing_app(app):
    """The app with a page that writes an organisation, then is refused as its path says."""
    page = Blueprint("refusing", __name__)

    @page.route("/refused/<kind>")
    def refused(kind: str):
        make_organisation(db(), name=f"Written before {kind}")
        db().flush()
        raise REFUSALS[kind]

    @page.route("/form-error")
    def form_error():
        make_organisation(db(), name="Written before a form error")
        db().flush()
        abandon_changes()
        return "The form had an error"

    access.register(app, page, Audience.PUBLIC)
    return app


def _kept(session, name: str) -> bool:
    return session.scalar(select(Organisation).where(Organisation.name == name)) is not None


@pytest.mark.parametrize(("kind", "status", "message"), [
    ("not-allowed", 403, "You cannot change this organisation."),
    ("not-found", 404, "There is no such organisation."),
    ("authoring-not-allowed", 403, "You can't edit DEMO101."),
    ("authoring-not-found", 404, "There is no page called intro.md."),
    ("reason-only", 403, None),
])
def test_a_refusal_is_its_page_and_keeps_nothing(refusing_app, session, kind, status, message):
    page = read_page(refusing_app.test_client().get(f"/refused/{kind}"))
    assert page.status == status
    assert page.h1 == ("Page not found" if status == 404
                       else "You do not have permission to see this page")
    if message is not None:
        assert message in page.text
    else:
        assert "actor" not in page.text  # the reason is for the log, not the page
    assert not _kept(session, f"Written before {kind}")


def test_the_refusal_family_is_still_what_callers_catch():
    assert isinstance(refusals.NotAllowed(), PermissionError)
    assert isinstance(authoring.NotAllowed("x"), authoring.AuthoringError)
    assert isinstance(authoring.NotFound("x"), refusals.NotFound)


def test_a_form_error_after_a_write_keeps_nothing(refusing_app, session):
    response = refusing_app.test_client().get("/form-error")
    assert response.status_code == 200
    assert not _kept(session, "Written before a form error")


def test_a_write_that_is_not_refused_is_kept(refusing_app, session):
    """The test above can fail: without a refusal, the same kind of write is committed."""
    page = Blueprint("writing", __name__)

    @page.route("/writes")
    def writes():
        make_organisation(db(), name="Written and kept")
        return "Saved"

    access.register(refusing_app, page, Audience.PUBLIC)
    assert refusing_app.test_client().get("/writes").status_code == 200
    assert _kept(session, "Written and kept")
