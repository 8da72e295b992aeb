"""Settings, read from the environment once at start-up.

Every setting has a safe production default except SECRET_KEY, which development fills
in from a file under the instance folder so that `make run` works on a fresh machine.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

TRUE_WORDS = {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting the site cannot start without, in words for whoever configures it."""


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_WORDS


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def development_secret_key(instance_path: Path) -> str:
    """A random key kept in the instance folder, so sign-ins survive a restart."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def settings_from_environment(instance_path: Path) -> dict:
    default_database = f"sqlite:///{instance_path / 'jesip_learn.db'}"
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or development_secret_key(instance_path),
        "DATABASE_URL": normalise_database_url(
            os.environ.get("DATABASE_URL") or default_database
        ),
        # Cookies are Secure unless a developer serving plain http on loopback says otherwise.
        "SESSION_COOKIE_SECURE": env_flag("SESSION_COOKIE_SECURE", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "jesip_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": env_flag("SMTP_STARTTLS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "JESIP Learn <no-reply@jesip-learn.invalid>"),
        # "smtp" when SMTP_HOST is set, otherwise "log": the message goes to the log.
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", ""),
        "PASSWORD_RESET_HOURS": int(os.environ.get("PASSWORD_RESET_HOURS", "2")),
        "LOGIN_FAILURES_PER_ACCOUNT": int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "10")),
        "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "50")),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "15")),
        # Emails sent on request (password resets, registrations, new confirmation links),
        # per email address or account and per network address, over the window.
        "EMAIL_REQUESTS_PER_ACCOUNT": int(os.environ.get("EMAIL_REQUESTS_PER_ACCOUNT", "5")),
        "EMAIL_REQUESTS_PER_ADDRESS": int(os.environ.get("EMAIL_REQUESTS_PER_ADDRESS", "50")),
        "EMAIL_REQUEST_WINDOW_MINUTES": int(os.environ.get("EMAIL_REQUEST_WINDOW_MINUTES",
                                                           "60")),
        # Sign-in failures and email requests are counted here when set (shared by every
        # worker and host); in the database while it cannot be reached.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # A live exercise's stream closes after this many seconds and the browser reconnects
        # where it left off, so a worker's thread is never held for ever.
        "LIVE_STREAM_SECONDS": float(os.environ.get("LIVE_STREAM_SECONDS", "55")),
        # Wrong live exercise join codes, per person and per network address, over the
        # window; counted where sign-in failures are.
        "LIVE_JOIN_FAILURES_PER_PERSON": int(os.environ.get("LIVE_JOIN_FAILURES_PER_PERSON",
                                                            "10")),
        "LIVE_JOIN_FAILURES_PER_ADDRESS": int(os.environ.get("LIVE_JOIN_FAILURES_PER_ADDRESS",
                                                             "50")),
        "LIVE_JOIN_FAILURE_WINDOW_MINUTES": int(os.environ.get(
            "LIVE_JOIN_FAILURE_WINDOW_MINUTES", "15")),
        "HSTS_SECONDS": int(os.environ.get("HSTS_SECONDS", "31536000")),
        # A course uploaded or edited in the browser is parsed in a worker process given
        # at most this many seconds (jesip_learn/content/worker.py); 0 parses in the web
        # process with no limit.
        "CONTENT_PARSE_SECONDS": os.environ.get("CONTENT_PARSE_SECONDS", "15"),
        # How many reverse proxies stand in front of the site; their X-Forwarded-For and
        # -Proto are trusted only then, so the audit log and throttle see the real address.
        "PROXY_HOPS": int(os.environ.get("PROXY_HOPS", "0")),
        # Reports call a completion "expiring" when it runs out within this many days.
        "COMPLIANCE_EXPIRING_DAYS": int(os.environ.get("COMPLIANCE_EXPIRING_DAYS", "90")),
        # xAPI statements go to this learning record store; none are recorded without it.
        "XAPI_ENDPOINT": os.environ.get("XAPI_ENDPOINT", ""),
        "XAPI_USERNAME": os.environ.get("XAPI_USERNAME", ""),
        "XAPI_PASSWORD": os.environ.get("XAPI_PASSWORD", ""),
        # The site's own address: learners' accounts and activity ids are named under it.
        "XAPI_HOMEPAGE": os.environ.get("XAPI_HOMEPAGE", ""),
        "XAPI_ACTOR_EMAIL": env_flag("XAPI_ACTOR_EMAIL", False),
        "XAPI_BATCH_SIZE": os.environ.get("XAPI_BATCH_SIZE", "50"),
        "XAPI_TIMEOUT_SECONDS": os.environ.get("XAPI_TIMEOUT_SECONDS", "10"),
        "XAPI_RETRY_FIRST_SECONDS": os.environ.get("XAPI_RETRY_FIRST_SECONDS", "30"),
        "XAPI_RETRY_MAX_SECONDS": os.environ.get("XAPI_RETRY_MAX_SECONDS", "3600"),
        "XAPI_KEEP_SENT_DAYS": os.environ.get("XAPI_KEEP_SENT_DAYS", "30"),
        # The site's address for links in emails (https://learn.jesip.example): required.
        "SITE_URL": os.environ.get("SITE_URL", ""),
        # The host names the site answers to; others get a 400. Default: SITE_URL's.
        "TRUSTED_HOSTS": host_list(os.environ.get("TRUSTED_HOSTS", "")),
        # Reminders go this many days before training runs out, and on the day.
        "NOTIFY_REMINDER_DAYS": os.environ.get("NOTIFY_REMINDER_DAYS", "90,30,7"),
        "NOTIFY_DIGEST_FREQUENCY": os.environ.get("NOTIFY_DIGEST_FREQUENCY", "weekly"),
        "NOTIFY_MAX_ATTEMPTS": os.environ.get("NOTIFY_MAX_ATTEMPTS", "8"),
        "NOTIFY_RETRY_MAX_SECONDS": os.environ.get("NOTIFY_RETRY_MAX_SECONDS", "21600"),
        # Leavers' details are anonymised this many years after they left (records purge).
        "RECORDS_RETENTION_YEARS": os.environ.get("RECORDS_RETENTION_YEARS", "6"),
        # How often `jobs run` runs each scheduled job; 0 turns one off.
        "JOBS_NOTIFY_MINUTES": os.environ.get("JOBS_NOTIFY_MINUTES", "10"),
        "JOBS_XAPI_SECONDS": os.environ.get("JOBS_XAPI_SECONDS", "30"),
        "JOBS_PURGE_HOURS": os.environ.get("JOBS_PURGE_HOURS", "24"),
        # Who people contact about their personal data, shown on the privacy notice.
        "PRIVACY_CONTACT": os.environ.get("PRIVACY_CONTACT", ""),
        # Single sign-on: the key that encrypts providers' client secrets (SECRET_KEY's own
        # derived key when unset); Entra ID's sign-in address (another for national clouds
        # or tests); the clock difference allowed in ID tokens; how long to wait for a
        # provider's answer.
        "SSO_SECRET_KEY": os.environ.get("SSO_SECRET_KEY", ""),
        "SSO_ENTRA_AUTHORITY": os.environ.get("SSO_ENTRA_AUTHORITY",
                                              "https://login.microsoftonline.com"),
        "SSO_CLOCK_SKEW_SECONDS": int(os.environ.get("SSO_CLOCK_SKEW_SECONDS", "60")),
        "SSO_HTTP_TIMEOUT_SECONDS": int(os.environ.get("SSO_HTTP_TIMEOUT_SECONDS", "10")),
    }


def host_list(text: str) -> list[str]:
    """"learn.jesip.example, www.learn.jesip.example" as a list of host names."""
    return [host.strip().lower() for host in text.split(",") if host.strip()]


def site_address(config) -> str:
    """SITE_URL, else the xAPI homepage, else https://SERVER_NAME: the one address every
    emailed link and every xAPI activity starts with."""
    url = (config.get("SITE_URL") or config.get("XAPI_HOMEPAGE") or "").strip()
    if not url and config.get("SERVER_NAME"):
        url = f"{config.get('PREFERRED_URL_SCHEME') or 'https'}://{config['SERVER_NAME']}"
    if not url:
        raise ConfigError(
            "SITE_URL must be set: the site's own address, such as "
            "https://learn.jesip.example, which every link in an email starts with")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"SITE_URL must be a full http or https address (it is {url!r})")
    return url.rstrip("/")


def checked_site_address(config: dict) -> tuple[str, list[str]]:
    """The site's own address (SITE_URL, else XAPI_HOMEPAGE, else https://SERVER_NAME) and
    the host names it answers to. Every link in an email starts with that address, never
    with the host a request names, so the site refuses to start without one."""
    address = site_address(config)
    hosts = config.get("TRUSTED_HOSTS") or [urlsplit(address).hostname]
    if isinstance(hosts, str):
        hosts = host_list(hosts)
    return address, list(hosts)
