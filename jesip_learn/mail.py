"""Outgoing email. With no SMTP server configured, messages go to the log instead, so a
developer can follow the links in them."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger("jesip_learn.mail")


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    to: str
    subject: str
    text: str


class MailDeliveryError(Exception):
    pass


class Mailer:
    """Sends mail according to settings: "smtp", "log", or "memory" (kept in `outbox`)."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.backend = settings.get("MAIL_BACKEND") or (
            "smtp" if settings.get("SMTP_HOST") else "log"
        )
        self.outbox: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        if self.backend == "memory":
            self.outbox.append(mail)
        elif self.backend == "smtp":
            self._send_smtp(mail)
        else:
            log.warning("Email not sent (no SMTP_HOST). To: %s Subject: %s\n%s",
                        mail.to, mail.subject, mail.text)

    def _send_smtp(self, mail: OutgoingMail) -> None:
        message = EmailMessage()
        message["From"] = self.settings["MAIL_FROM"]
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        try:
            with smtplib.SMTP(self.settings["SMTP_HOST"], self.settings["SMTP_PORT"],
                              timeout=20) as smtp:
                if self.settings.get("SMTP_STARTTLS"):
                    smtp.starttls()
                if self.settings.get("SMTP_USERNAME"):
                    smtp.login(self.settings["SMTP_USERNAME"], self.settings["SMTP_PASSWORD"])
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            log.error("Email to %s failed: %s", mail.to, error)
            raise MailDeliveryError(str(error)) from error
