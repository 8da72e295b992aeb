"""Who may reach each page: the audiences, and the one check that admits a request.

Every blueprint is registered with its audience (`register(app, blueprint, Audience.X)`, in
the application factory): a blueprint cannot be added without naming who it is for. A view
of a blueprint that also serves another audience (the account pages among public ones, the
managers' report subscriptions among a learner's notification settings) names its own with
`@for_audience(Audience.X)`. One hook runs before every view: it sends whoever must sign in
to the sign-in page, and refuses (403) a signed-in person whose roles the audience does not
include. An endpoint with no audience is refused, never open by omission;
tests/web/test_access.py walks the URL map so that none is left without one.

Roles are tested by the predicates of accounts.permissions, nowhere else. What is decided
about one object (this organisation's people, this course, this learner's attempt) stays
with the view and the domain: an audience says who may come in, not what they may touch.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from flask import Blueprint, Flask, abort, current_app, request
from flask_login import current_user

from jesip_learn.accounts import permissions
from jesip_learn.accounts.models import User


class Audience(enum.Enum):
    PUBLIC = "anyone, signed in or not"
    LEARNER = "anyone signed in"
    AUTHOR = "trainers and administrators"
    TRAINER_OR_MANAGER = "trainers, managers and administrators"
    MANAGER = "managers and administrators"
    ADMINISTRATOR = "administrators"


# The one role check of each audience (PUBLIC and LEARNER ask only who is signed in).
ADMITS: dict[Audience, Callable[[User], bool]] = {
    Audience.LEARNER: lambda user: True,
    Audience.AUTHOR: permissions.is_author,
    Audience.TRAINER_OR_MANAGER: permissions.is_trainer_or_manager,
    Audience.MANAGER: permissions.is_manager,
    Audience.ADMINISTRATOR: permissions.is_administrator,
}

# The application's own endpoints, outside any blueprint.
APP_ENDPOINTS = {"static": Audience.PUBLIC}


def for_audience(audience: Audience) -> Callable:
    """Mark a view whose audience is not its blueprint's."""
    def mark(view: Callable) -> Callable:
        view.audience = audience
        return view
    return mark


def init_access(app: Flask, *, session_checks: tuple[Callable, ...] = ()) -> None:
    """Run `session_checks` (the session's time limits, two-step verification where it is
    required) and then the audience check, in that order, before every view; after the
    edge's own refusals of the request's host and address."""
    app.extensions["audiences"] = {}
    for check in session_checks:
        app.before_request(check)
    app.before_request(_admit)


def register(app: Flask, blueprint: Blueprint, audience: Audience) -> None:
    app.extensions["audiences"][blueprint.name] = audience
    app.register_blueprint(blueprint)


def audience_of(app: Flask, endpoint: str) -> Audience | None:
    """The audience of an endpoint: its view's own, else its blueprint's; None when neither
    names one."""
    view = app.view_functions.get(endpoint)
    own = getattr(view, "audience", None)
    if own is not None:
        return own
    if endpoint in APP_ENDPOINTS:
        return APP_ENDPOINTS[endpoint]
    blueprint, dot, _name = endpoint.rpartition(".")
    return app.extensions["audiences"].get(blueprint) if dot else None


def admits(audience: Audience, user) -> bool:
    """Whether this visitor (signed in or not) is of this audience."""
    if audience is Audience.PUBLIC:
        return True
    return bool(user.is_authenticated) and ADMITS[audience](user)


def _admit():
    if request.endpoint is None:
        return None  # no route matched: the 404 or 405 follows
    audience = audience_of(current_app, request.endpoint)
    if audience is None:
        abort(403)
    if audience is Audience.PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not admits(audience, current_user):
        abort(403)
    return None
