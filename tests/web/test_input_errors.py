"""An input error that no view catches is the 400 page with its message, never a 500, and
nothing the request wrote before it is kept (as tests/web/test_refusals.py shows for
refusals)."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint
from sqlalchemy import select

from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import Organisation
from jesip_learn.courses import authoring
from jesip_learn.exercises.live.log import LiveError
from jesip_learn.exercises.recorded import ExerciseError
from jesip_learn.learning.allowances import GrantRefused
from jesip_learn.web import access
from jesip_learn.web.access import Audience
from jesip_learn.web.edge import db
from tests.support.factories import make_organisation
from tests.support.pages import read_page

INPUT_ERRORS = {
    "account": AccountError("email", "Enter an email address in the correct format"),
    "exercise": ExerciseError("held_on", "The date of the exercise must be a real date"),
    "live": LiveError("This session has ended, so nothing more can be sent to it."),
    "authoring": authoring.AuthoringError("Enter a page name", field="path"),
    "upload": authoring.UploadRefused("The image is larger than 2 MB", field="image"),
    "grant": GrantRefused("Choose between 1 and 5 attempts."),
    "markup": AccountError("name", "Enter a name without <b>tags</b>"),
}


@pytest.fixture
def failing_app(app):
    """The app with a page that writes an organisation, then raises the input error its
    path names, which no view catches."""
    page = Blueprint("failing", __name__)

    @page.route("/input-error/<kind>")
    def input_error(kind: str):
        make_organisation(db(), name=f"Written before {kind}")
        db().flush()
        raise INPUT_ERRORS[kind]

    @page.route("/refused-input-error")
    def refused_input_error():
        make_organisation(db(), name="Written before a refusal")
        db().flush()
        raise authoring.NotAllowed("You can't edit DEMO101.")

    @page.route("/program-error")
    def program_error():
        make_organisation(db(), name="Written before a program error")
        db().flush()
        raise ValueError("not an input error")

    access.register(app, page, Audience.PUBLIC)
    return app


def _kept(session, name: str) -> bool:
    return session.scalar(select(Organisation).where(Organisation.name == name)) is not None


def _logged_as_errors(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno >= logging.ERROR or record.exc_info]


@pytest.mark.parametrize("kind", sorted(INPUT_ERRORS))
def test_an_uncaught_input_error_is_the_400_page_and_keeps_nothing(failing_app, session,
                                                                   caplog, kind):
    caplog.set_level(logging.INFO)
    failing_app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 would be a page, not a raise
    page = read_page(failing_app.test_client().get(f"/input-error/{kind}"))
    assert page.status == 400
    assert page.h1 == "Sorry, there is a problem with that request"
    assert INPUT_ERRORS[kind].message in page.text
    assert "Nothing you sent was saved." in page.text
    assert not _kept(session, f"Written before {kind}")
    assert _logged_as_errors(caplog) == []
    # The class is logged, for whoever looks for the view that forgot to catch it; the
    # message is not, since it may repeat what was typed.
    logged = [record.getMessage() for record in caplog.records
              if record.name == "jesip_learn.web"]
    assert any(type(INPUT_ERRORS[kind]).__name__ in line for line in logged)
    assert not any(INPUT_ERRORS[kind].message in line for line in logged)


def test_the_message_is_shown_as_text(failing_app):
    page = read_page(failing_app.test_client().get("/input-error/markup"))
    assert page.status == 400
    assert page.soup.find("b") is None


def test_an_area_refusal_that_is_also_its_input_error_keeps_its_own_page(failing_app,
                                                                        session):
    """courses.authoring.NotAllowed is an AuthoringError and a refusal: 403, as before."""
    page = read_page(failing_app.test_client().get("/refused-input-error"))
    assert page.status == 403
    assert "You can't edit DEMO101." in page.text
    assert not _kept(session, "Written before a refusal")


def test_an_error_that_is_not_an_input_error_is_still_the_programs(failing_app, session,
                                                                  caplog):
    """The tests above can fail: another ValueError is a 500, logged with its trace."""
    failing_app.config["PROPAGATE_EXCEPTIONS"] = False
    page = read_page(failing_app.test_client().get("/program-error"))
    assert page.status == 500
    assert any(record.exc_info and str(record.exc_info[1]) == "not an input error"
               for record in caplog.records)
    assert not _kept(session, "Written before a program error")
