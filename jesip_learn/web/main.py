"""Pages for everyone: home, your account, accessibility statement, about, health check."""

from __future__ import annotations

import re

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from jesip_learn.content import is_download_only, media_type
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from jesip_learn.sso import providers as sso_providers
from jesip_learn.web.access import Audience, admits, for_audience
from jesip_learn.web.edge import db

blueprint = Blueprint("main", __name__)


@blueprint.app_template_global()
def navigation_items() -> list[dict]:
    """The service navigation for the signed-in user's permissions."""
    if not current_user.is_authenticated:
        links = [("auth.sign_in", "Sign in"), ("auth.register", "Create an account")]
    else:
        links = [("learn.my_training", "My training")]
        if admits(Audience.AUTHOR, current_user):
            links.append(("author.course_list", "Courses"))
        if admits(Audience.MANAGER, current_user):
            links.append(("compliance.dashboard", "Compliance"))
            # Adding, approving, moving and importing people: one page, so that an
            # administrator's navigation fits one line at desktop width.
            links.append(("manage.people", "People"))
        if admits(Audience.TRAINER_OR_MANAGER, current_user):
            links.append(("exercises.index", "Exercises"))
        if admits(Audience.ADMINISTRATOR, current_user):
            # One link: the administration page lists every part of running the site.
            links.append(("admin.index", "Administration"))
        links.append(("main.account", "Your account"))
    items = []
    for endpoint, text in links:
        href = url_for(endpoint)
        current = request.endpoint == endpoint
        # A page below a section (a user's edit page below Users) marks the section active.
        below = href != "/" and request.path.startswith(href.rstrip("/") + "/")
        items.append({"href": href, "text": text, "current": current, "active": below})
    return items


@blueprint.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("main/start.html")
    return redirect(url_for("learn.my_training"))


@blueprint.route("/account")
@for_audience(Audience.LEARNER)
def account():
    return render_template("main/account.html", user=current_user,
                           signs_in_with=sso_providers.organisation_signing_in(db(), current_user))


@blueprint.route("/accessibility")
def accessibility():
    return render_template("main/accessibility.html")


@blueprint.route("/about")
def about():
    return render_template("main/about.html")


@blueprint.route("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@blueprint.route("/course-files/<content_hash>/<path:path>")
@for_audience(Audience.LEARNER)
def course_file(content_hash: str, path: str):
    """An image or PDF a course ships. SVG and anything else that could run script in
    the browser is only ever a download, inside a sandbox."""
    version = courses.version_with_hash(db(), content_hash) or abort(404)
    data = courses.version_file(db(), version, path)
    kind = media_type(path)
    if data is None or kind is None or path.endswith(".md"):
        abort(404)
    response = make_response(data)
    response.headers["Content-Type"] = kind
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    filename = re.sub(r"[^\w.\-]", "_", path.rsplit("/", 1)[-1])
    disposition = "attachment" if is_download_only(path) else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@blueprint.route("/verify", defaults={"certificate_code": None})
@blueprint.route("/verify/<certificate_code>")
def verify(certificate_code: str | None):
    """Public: whether a certificate is genuine and in date, and nothing about the person."""
    certificate_code = certificate_code or request.args.get("code", "").strip()
    if not certificate_code:
        return render_template("main/verify.html", result=None, certificate_code="")
    result = progress.verify_certificate(db(), certificate_code[:40])
    return render_template("main/verify.html", result=result, certificate_code=certificate_code)


@blueprint.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="images/favicon.svg"), 301)
