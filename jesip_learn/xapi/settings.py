"""The XAPI_* settings: where the learning record store is, and how learners appear there.

Statements are recorded only when XAPI_ENDPOINT is set: a site without a learning record
store keeps no outbox. The settings travel with every database session of the site
(`session.info`), so the domain records statements without being handed them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

SESSION_KEY = "xapi_settings"


class XapiSettingsError(ValueError):
    """A setting that cannot work, in words for whoever configures the site."""


@dataclass(frozen=True, slots=True)
class XapiSettings:
    endpoint: str = ""  # the store's xAPI base, e.g. https://lrs.example.org/xAPI/
    username: str = ""
    password: str = ""
    homepage: str = ""  # this site's address: the actor accounts' homePage and our IRIs
    actor_email: bool = False  # identify learners by email address instead of account
    batch_size: int = 50
    timeout_seconds: float = 10.0
    retry_base_seconds: int = 30  # the first wait after a failed send; it doubles each time
    retry_max_seconds: int = 3600
    lease_seconds: int = 300  # how long a sender holds a batch before another may take it
    keep_sent_days: int = 30  # sent statements kept this long, for the administration page

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)

    @property
    def statements_url(self) -> str:
        return self.endpoint.rstrip("/") + "/statements"


def _http_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise XapiSettingsError(
            f"{name} must be a full http or https address, such as https://lrs.example.org/"
            f"xAPI/ (it is {value!r})")
    return value


def _positive(config: Mapping, key: str, default: float, kind=int):
    value = config.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise XapiSettingsError(f"{key} must be a number (it is {value!r})") from None
    if number <= 0:
        raise XapiSettingsError(f"{key} must be more than 0 (it is {value!r})")
    return number


def settings_from_config(config: Mapping) -> XapiSettings:
    """The site's xAPI settings, or XapiSettingsError naming the one that cannot work."""
    endpoint = (config.get("XAPI_ENDPOINT") or "").strip()
    if not endpoint:
        return XapiSettings()
    _http_url(endpoint, "XAPI_ENDPOINT")
    homepage = (config.get("XAPI_HOMEPAGE") or "").strip()
    if not homepage and config.get("SERVER_NAME"):
        homepage = f"{config.get('PREFERRED_URL_SCHEME') or 'https'}://{config['SERVER_NAME']}"
    if not homepage:
        raise XapiSettingsError(
            "XAPI_HOMEPAGE must be set when XAPI_ENDPOINT is: the site's own address, such "
            "as https://learn.jesip.example, which names learners and activities in the "
            "learning record store")
    return XapiSettings(
        endpoint=endpoint,
        username=config.get("XAPI_USERNAME") or "",
        password=config.get("XAPI_PASSWORD") or "",
        homepage=_http_url(homepage, "XAPI_HOMEPAGE").rstrip("/"),
        actor_email=bool(config.get("XAPI_ACTOR_EMAIL", False)),
        batch_size=_positive(config, "XAPI_BATCH_SIZE", 50),
        timeout_seconds=_positive(config, "XAPI_TIMEOUT_SECONDS", 10.0, float),
        retry_base_seconds=_positive(config, "XAPI_RETRY_FIRST_SECONDS", 30),
        retry_max_seconds=_positive(config, "XAPI_RETRY_MAX_SECONDS", 3600),
        keep_sent_days=_positive(config, "XAPI_KEEP_SENT_DAYS", 30),
    )


def attach(sessionmaker, settings: XapiSettings) -> None:
    """Every session the factory makes carries the settings (when statements are sent)."""
    if not settings.enabled:
        return
    info = dict(sessionmaker.kw.get("info") or {})
    info[SESSION_KEY] = settings
    sessionmaker.configure(info=info)


def session_settings(session: Session) -> XapiSettings | None:
    """The settings the session carries, or None when statements are not recorded."""
    return session.info.get(SESSION_KEY)
