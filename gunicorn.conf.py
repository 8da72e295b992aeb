"""Gunicorn settings for JESIP Learn: `gunicorn -c gunicorn.conf.py --workers 4 app:app`."""

# Access and error lines with one-time tokens and passwords redacted.
logger_class = "jesip_learn.gunicorn_logging.RedactingLogger"
