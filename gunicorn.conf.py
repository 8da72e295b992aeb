"""Gunicorn settings for JESIP Learn: `gunicorn -c gunicorn.conf.py --workers 4 app:app`."""

import gc

# Access and error lines with one-time tokens and passwords redacted.
logger_class = "jesip_learn.core.gunicorn_logging.RedactingLogger"

# The application is loaded once, in the master, and the workers forked from it share its
# memory (code, templates, the parsed courses) instead of each loading its own copy: about
# a fifth of the private memory per worker. A code change then needs a restart of the
# master (`systemctl restart`), not only a HUP.
preload_app = True


def when_ready(server):
    # Templates compiled and the learners' pages opened once, here: every worker shares
    # what that sets up (compiled statements, shared pages) instead of making its own.
    from jesip_learn.factory import warm_up

    warm_up(server.app.wsgi())


def pre_fork(server, worker):
    # Objects made while loading are moved out of the collector's sight, so a worker's
    # first collections do not write to (and so copy) every page they live on.
    gc.freeze()


def post_fork(server, worker):
    # Connections are never shared across a fork: the worker drops the master's pooled
    # ones (without closing them, which would close them for the master too) and opens its
    # own on first use.
    from jesip_learn.factory import after_fork

    after_fork(server.app.wsgi())
