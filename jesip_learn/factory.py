"""The application factory: settings, database, sign-in, CSRF, blueprints, errors, CLI."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, request, url_for
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from jesip_learn import tables  # noqa: F401  (every area's tables, before any query)
from jesip_learn.accounts import passwords
from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.config import checked_site_address, settings_from_environment
from jesip_learn.core.db import Database
from jesip_learn.core.log_redaction import install_log_redaction
from jesip_learn.core.mail import Mailer
from jesip_learn.courses import catalogue
from jesip_learn.exercises.live import notify as live_notify
from jesip_learn.web.converters import DatabaseIntegerConverter
from jesip_learn.web.edge import SiteApp, csrf
from jesip_learn.xapi import settings as xapi_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = SiteApp(
        "jesip_learn",
        root_path=str(PROJECT_ROOT),
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    # Before any route is added: every <int:…> in an address is a database integer.
    app.url_map.converters["int"] = DatabaseIntegerConverter
    config = config or {}
    instance = Path(config.get("INSTANCE_PATH", app.instance_path))
    app.config.update(settings_from_environment(instance))
    app.config.update(config)
    passwords.use_hash_method(app.config.get("PASSWORD_HASH_METHOD",
                                             passwords.DEFAULT_HASH_METHOD))
    app.config["SITE_URL"], app.config["TRUSTED_HOSTS"] = checked_site_address(app.config)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    install_log_redaction()  # no log line, from any logger, holds a token or a password

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    # Apps made one after another in one process (the tests) can share compiled templates.
    app.jinja_env.bytecode_cache = config.get("JINJA_BYTECODE_CACHE")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    app.extensions["database"] = config.get("DATABASE") or Database(app.config["DATABASE_URL"])
    app.extensions["xapi"] = xapi_settings.settings_from_config(app.config)
    xapi_settings.attach(app.extensions["database"].sessionmaker, app.extensions["xapi"])
    app.extensions["mailer"] = Mailer(app.config)
    csrf.init_app(app)
    # Announces a live exercise's new entries to the streams of every worker.
    live_notify.install(app.config["DATABASE_URL"], app.config.get("REDIS_URL"))

    from jesip_learn.web import (
        access,
        admin,
        allowances,
        auth,
        author,
        compliance,
        edge,
        editor,
        exercises,
        imports,
        learn,
        live,
        live_facilitate,
        main,
        manage,
        notifications,
        quiz,
        records,
        scenario,
        sso,
        sso_admin,
        two_step,
        xapi,
    )
    from jesip_learn.web.access import Audience

    edge.init_app(app)
    if app.config.get("PROXY_HOPS"):
        hops = app.config["PROXY_HOPS"]
        # The client's address and scheme only: a forwarded host is the sender's to choose,
        # and the site's own address comes from SITE_URL.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    auth.init_login(app)
    sso.init_sso(app)
    access.init_access(app, session_checks=(auth.end_stale_sessions,
                                            two_step.require_two_step_where_needed))
    # Each blueprint with its audience: the one role check its every view passes first.
    for blueprint, audience in (
            (main.blueprint, Audience.PUBLIC),
            (auth.blueprint, Audience.PUBLIC),
            (two_step.blueprint, Audience.PUBLIC),
            (sso.blueprint, Audience.PUBLIC),
            (records.blueprint, Audience.LEARNER),
            (notifications.blueprint, Audience.LEARNER),
            (learn.blueprint, Audience.LEARNER),
            (quiz.blueprint, Audience.LEARNER),
            (scenario.blueprint, Audience.LEARNER),
            (live.blueprint, Audience.LEARNER),
            (author.blueprint, Audience.AUTHOR),
            (editor.blueprint, Audience.AUTHOR),
            (exercises.blueprint, Audience.TRAINER_OR_MANAGER),
            (live_facilitate.blueprint, Audience.TRAINER_OR_MANAGER),
            (allowances.blueprint, Audience.TRAINER_OR_MANAGER),
            (manage.blueprint, Audience.MANAGER),
            (compliance.blueprint, Audience.MANAGER),
            (imports.blueprint, Audience.MANAGER),
            (records.manage_blueprint, Audience.MANAGER),
            (admin.blueprint, Audience.ADMINISTRATOR),
            (records.admin_blueprint, Audience.ADMINISTRATOR),
            (sso_admin.blueprint, Audience.ADMINISTRATOR),
            (xapi.blueprint, Audience.ADMINISTRATOR)):
        access.register(app, blueprint, audience)

    from jesip_learn.cli import register_commands

    register_commands(app)
    return app


def after_fork(app: Flask) -> None:
    """In a process forked from one that loaded the app (gunicorn's preload): forget the
    parent's connections, so that this process opens its own. The database pools are
    disposed of without closing their connections, which are the parent's; the Redis client
    is made again on first use, and so are the live exercises' announcement connections
    and listener threads."""
    app.extensions["database"].forget_connections()
    app.extensions.pop("redis", None)
    app.extensions.pop("redis_health", None)
    live_notify.after_fork()


def warm_up(app: Flask) -> None:
    """Do now, in a process about to fork its workers, what each worker would otherwise
    do for itself on its first requests, so that they share the result: every template
    compiled, the URL map's matcher built, the statements of the sign-in page and of the
    learners' pages compiled. The connections this opens are closed before any worker is
    forked."""
    environment = app.jinja_env
    if environment.cache is not None and environment.cache.capacity < 1000:
        environment.cache = type(environment.cache)(1000)  # all of them, kept
    for name in environment.list_templates(filter_func=lambda name: name.endswith(".html")):
        environment.get_template(name)
    site = app.config["SITE_URL"]
    client = app.test_client()
    for path in ("/healthz", "/sign-in", "/"):
        client.get(path, base_url=site)
    _open_learner_pages(app)
    app.extensions["database"].dispose()


def _open_learner_pages(app: Flask) -> None:
    """Open every published course's pages as a learner does, so that the code behind
    them has run once here and a worker finds its statements compiled, its objects set up
    and the reading modules' shared pages rendered (those of a learner who has not read
    them yet: `render_shared_page`'s key says so). The learner is a stand-in who exists
    only here: no permissions, no training, never saved; whatever the pages would write is
    rolled back, and nothing is sent."""
    from jesip_learn.web.auth import start_session
    from jesip_learn.web.learn import item_url

    try:
        with app.extensions["database"].session() as reading:
            versions = [catalogue.find_version(reading, summary.code)
                        for summary in catalogue.list_courses(reading) if summary.version]
            outlines = [(version.course.code, catalogue.learner_outline(version))
                        for version in versions]
    except SQLAlchemyError as error:
        # Only a saving of memory: a database out of reach (or not yet made) at start-up
        # must not keep the site from starting.
        log.warning("Learners' pages not opened before forking the workers: %s", error)
        return
    stand_in = User(id=0, session_epoch=0, name="Stand-in learner", email="",
                    command_role="operational", is_active=True, grants=[],
                    organisation=Organisation(id=0, name=""))
    site = app.config["SITE_URL"]
    with app.test_request_context(base_url=site):
        root = request.script_root  # the site's own path, which base_url adds again
        paths = ["/learn", *(path.removeprefix(root) for code, items in outlines for path in (
            url_for("learn.course", code=code), *(item_url(code, item) for item in items)))]
    for path in paths:
        with app.test_request_context(path, base_url=site):
            start_session(stand_in)
            g.request_failed = True  # rolled back at the end, whatever the page did
            app.full_dispatch_request()
