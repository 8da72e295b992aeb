"""The application factory: settings, database, sign-in, CSRF, blueprints, errors, CLI."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from .config import settings_from_environment
from .db import Database
from .mail import Mailer

PROJECT_ROOT = Path(__file__).resolve().parent.parent

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        "jesip_learn",
        root_path=str(PROJECT_ROOT),
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    config = config or {}
    instance = Path(config.get("INSTANCE_PATH", app.instance_path))
    app.config.update(settings_from_environment(instance))
    app.config.update(config)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    app.extensions["database"] = config.get("DATABASE") or Database(app.config["DATABASE_URL"])
    app.extensions["mailer"] = Mailer(app.config)
    csrf.init_app(app)

    from .web import (
        admin,
        auth,
        author,
        compliance,
        edge,
        editor,
        imports,
        learn,
        main,
        manage,
        quiz,
        scenario,
    )

    edge.init_app(app)
    auth.init_login(app)
    for blueprint in (main.blueprint, auth.blueprint, learn.blueprint, author.blueprint,
                      admin.blueprint, manage.blueprint, quiz.blueprint, scenario.blueprint,
                      compliance.blueprint, imports.blueprint, editor.blueprint):
        app.register_blueprint(blueprint)

    from .cli import register_commands

    register_commands(app)
    return app
