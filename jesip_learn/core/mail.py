"""Outgoing email. With no SMTP server configured, messages go to the log, where the tokens
in their links are redacted like every log line's; on a developer's machine (`make run`) the
"console" backend prints them whole to the terminal instead, so the links can be followed."""

from __future__ import annotations

import logging
import smtplib
import sys
from dataclasses import dataclass
from email.errors import MessageError
from email.message import EmailMessage

log = logging.getLogger("jesip_learn.core.mail")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "text/csv", "application/vnd.openxmlformats-..."
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One email: a plain-text part always; an HTML alternative, attachments and extra
    headers (List-Unsubscribe) when given."""

    to: str
    subject: str
    text: str
    html: str = ""
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


class MailDeliveryError(Exception):
    """The email was not sent: the mail server failed, or (UnsendableMail) the message
    itself cannot be built."""


class UnsendableMail(MailDeliveryError):
    """This one message cannot be built: a header holding a line break (which would let
    its text add headers of its own), text an email cannot carry. Sending it again fails
    the same way; other messages are not affected, so a sender marks it failed and goes on."""


class Mailer:
    """Sends mail according to settings: "smtp", "log", "console" (the terminal, for
    development) or "memory" (kept in `outbox`, for tests)."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.backend = settings.get("MAIL_BACKEND") or (
            "smtp" if settings.get("SMTP_HOST") else "log"
        )
        self.outbox: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        # Built first whatever the backend, so that a message no mail server could be given
        # is refused the same way in development, in tests and in production.
        message = self.message(mail)
        if self.backend == "memory":
            self.outbox.append(mail)
        elif self.backend == "smtp":
            self._send_smtp(mail, message)
        elif self.backend == "console":
            # Deliberately not a log line: the terminal of someone developing on their machine.
            print(f"\n--- Email (not sent: MAIL_BACKEND=console) ---\nTo: {mail.to}\n"
                  f"Subject: {mail.subject}\n\n{mail.text}\n--- end of email ---",
                  file=sys.stderr, flush=True)
        else:
            log.warning("Email not sent (no SMTP_HOST). To: %s Subject: %s\n%s",
                        mail.to, mail.subject, mail.text)

    def message(self, mail: OutgoingMail) -> EmailMessage:
        """The MIME message: text, then HTML as its alternative, then the attachments.
        Raises UnsendableMail, saying why, when it cannot be built."""
        try:
            _check_headers([("To", mail.to), ("Subject", mail.subject), *mail.headers])
            message = EmailMessage()
            if self.settings.get("MAIL_FROM"):
                message["From"] = self.settings["MAIL_FROM"]
            message["To"] = mail.to
            message["Subject"] = mail.subject
            for name, value in mail.headers:
                message[name] = value
            message.set_content(mail.text)
            if mail.html:
                message.add_alternative(mail.html, subtype="html")
            for attachment in mail.attachments:
                maintype, _, subtype = attachment.content_type.partition("/")
                message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                                       filename=attachment.filename)
            message.as_bytes()  # what the SMTP client will send: any encoding error shows now
        except (ValueError, TypeError, LookupError, MessageError) as error:
            # ValueError covers a header with a line break and UnicodeEncodeError.
            raise UnsendableMail(f"The email could not be built: {error}") from error
        return message

    def _send_smtp(self, mail: OutgoingMail, message: EmailMessage) -> None:
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


def _check_headers(headers) -> None:
    """Refuse a control character in a header: a line break would let the value add
    headers of its own, and NUL or escape have no place in one (RFC 5322)."""
    for name, value in headers:
        for character in value:
            if ord(character) < 0x20 or ord(character) == 0x7F:
                raise ValueError(f"the {name} header holds a control character "
                                 f"(U+{ord(character):04X})")
