"""Gunicorn's logger with secrets taken out of its access and error lines.

`gunicorn.conf.py` names it, so `gunicorn -c gunicorn.conf.py app:app` uses it. The app
factory redacts every record of a worker too; this logger also covers the lines gunicorn
writes before the application is loaded, and logging configured through gunicorn's
`logconfig_dict`.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from jesip_learn.core.log_redaction import RedactingFilter


class RedactingLogger(Logger):
    """Access lines ("GET /reset-password/<token>", the Referer…) and error lines ("Error
    handling request /setup/<token>") with tokens and passwords redacted."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactingFilter) for existing in log.filters):
                log.addFilter(RedactingFilter())
