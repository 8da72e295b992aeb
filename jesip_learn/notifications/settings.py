"""The NOTIFY_* settings, and the site's address that every link in an email starts with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jesip_learn.core.config import ConfigError, site_address

FREQUENCIES = {"weekly": "Weekly", "monthly": "Monthly"}


class NotificationSettingsError(ValueError):
    """A setting that cannot work, in words for whoever configures the site."""


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    site_url: str  # https://learn.jesip.example, no trailing slash
    secret_key: str  # signs unsubscribe links
    reminder_days: tuple[int, ...] = (90, 30, 7)  # largest first
    overdue_repeat_months: int = 1  # "monthly while overdue"
    digest_frequency: str = "weekly"
    digest_expiring_days: int = 30  # the digest's "expiring in the next 30 days"
    expiring_days: int = 90  # the dashboard's "expiring", for the compliance percentage
    max_attempts: int = 8  # then the notice is "failed", for an administrator to retry
    retry_base_seconds: int = 60  # the first wait after a failed send; it doubles
    retry_max_seconds: int = 21600
    # How long a sender holds a batch before another may take it: longer than a batch can
    # take to send (batch_size × the SMTP timeout of 20 seconds).
    lease_seconds: int = 900
    batch_size: int = 20

    def link(self, path: str) -> str:
        return self.site_url + "/" + path.lstrip("/")


def _number(config: Mapping, key: str, default: int) -> int:
    value = config.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotificationSettingsError(f"{key} must be a whole number (it is {value!r})") \
            from None
    if number <= 0:
        raise NotificationSettingsError(f"{key} must be more than 0 (it is {value!r})")
    return number


def reminder_days(text: str) -> tuple[int, ...]:
    """"90,30,7" as (90, 30, 7): the days before training runs out that reminders go."""
    try:
        days = {int(part) for part in str(text).replace(" ", "").split(",") if part}
    except ValueError:
        raise NotificationSettingsError(
            f"NOTIFY_REMINDER_DAYS must be whole numbers separated by commas, such as "
            f"90,30,7 (it is {text!r})") from None
    if not days or min(days) < 1 or max(days) > 366:
        raise NotificationSettingsError(
            f"NOTIFY_REMINDER_DAYS must be between 1 and 366 days (it is {text!r})")
    return tuple(sorted(days, reverse=True))


def site_url(config: Mapping) -> str:
    """SITE_URL, else the xAPI homepage, else https://SERVER_NAME."""
    try:
        return site_address(config)
    except ConfigError as error:
        raise NotificationSettingsError(str(error)) from None


def settings_from_config(config: Mapping) -> NotificationSettings:
    frequency = (config.get("NOTIFY_DIGEST_FREQUENCY") or "weekly").strip().lower()
    if frequency not in FREQUENCIES:
        raise NotificationSettingsError(
            f"NOTIFY_DIGEST_FREQUENCY must be weekly or monthly (it is {frequency!r})")
    return NotificationSettings(
        site_url=site_url(config), secret_key=str(config["SECRET_KEY"]),
        reminder_days=reminder_days(config.get("NOTIFY_REMINDER_DAYS", "90,30,7")),
        digest_frequency=frequency,
        expiring_days=_number(config, "COMPLIANCE_EXPIRING_DAYS", 90),
        max_attempts=_number(config, "NOTIFY_MAX_ATTEMPTS", 8),
        retry_max_seconds=_number(config, "NOTIFY_RETRY_MAX_SECONDS", 21600),
    )
