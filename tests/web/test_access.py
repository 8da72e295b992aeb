"""Every endpoint has an audience, and each audience's one check refuses those outside it.

The route × role matrix (test_route_matrix.py) checks every route against every kind of
visitor; these tests check the mechanism: that no endpoint is left without an audience, and
that the check really runs for a blueprint's audience and for a view's own.
"""

from __future__ import annotations

import pytest
from flask import Blueprint

from jesip_learn.web import access
from jesip_learn.web.access import Audience


def test_every_endpoint_has_an_audience(app):
    without = sorted(rule.endpoint for rule in app.url_map.iter_rules()
                     if access.audience_of(app, rule.endpoint) is None)
    assert without == []


def test_every_audience_serves_some_endpoint(app):
    used = {access.audience_of(app, rule.endpoint) for rule in app.url_map.iter_rules()}
    assert used == set(Audience)


def test_a_blueprint_registered_without_its_audience_is_refused(app, client):
    unnamed = Blueprint("unnamed", __name__)
    unnamed.add_url_rule("/unnamed", "page", lambda: "open")
    app.register_blueprint(unnamed)  # not through access.register: no audience
    assert access.audience_of(app, "unnamed.page") is None
    assert client.get("/unnamed").status_code == 403


# One page per audience, with the visitor just outside it.
OUTSIDERS = [
    ("/account", Audience.LEARNER, None),  # main.account: the view's own audience
    ("/learn", Audience.LEARNER, None),
    ("/account/my-data", Audience.LEARNER, None),
    ("/author/courses", Audience.AUTHOR, set()),
    ("/exercises", Audience.TRAINER_OR_MANAGER, set()),
    ("/manage/people", Audience.MANAGER, {"trainer"}),
    ("/manage/subscriptions", Audience.MANAGER, {"trainer"}),  # a learner blueprint's view
    ("/admin/", Audience.ADMINISTRATOR, {"trainer"}),
    ("/admin/notifications", Audience.ADMINISTRATOR, {"trainer"}),
]


@pytest.mark.parametrize(("path", "audience", "permissions"), OUTSIDERS)
def test_each_audience_refuses_whoever_is_outside_it(app, client, browser, make, organisation,
                                                     path, audience, permissions):
    endpoint = app.url_map.bind("localhost").match(path)[0]
    assert access.audience_of(app, endpoint) is audience
    if permissions is None:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/sign-in?next=")
    else:
        browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
        page = browser.get(path)
        assert page.status == 403
        assert page.h1 == "You do not have permission to see this page"


@pytest.mark.parametrize("path", ["/privacy", "/about", "/sign-in"])
def test_public_pages_are_open_to_anyone(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(("path", "permissions"), [
    ("/author/courses", {"trainer"}), ("/exercises", {"trainer"}), ("/manage/people", {"manager"}),
    ("/manage/subscriptions", {"manager"}), ("/admin/", {"admin"})])
def test_each_audience_admits_those_inside_it(browser, make, organisation, path, permissions):
    browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
    assert browser.get(path).status == 200


def test_the_audiences_checks_are_the_permissions_predicates():
    from jesip_learn.accounts import permissions

    assert access.ADMITS[Audience.MANAGER] is permissions.is_manager
    assert access.ADMITS[Audience.ADMINISTRATOR] is permissions.is_administrator
    assert access.ADMITS[Audience.AUTHOR] is permissions.is_author
    assert access.ADMITS[Audience.TRAINER_OR_MANAGER] is permissions.is_trainer_or_manager
