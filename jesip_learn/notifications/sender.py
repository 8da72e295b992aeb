"""`flask --app app notify send`: record every notice that is due, then send what waits.

Safe to run from cron every few minutes on several hosts at once. Recording happens in one
short write transaction and inserts each notice at most once (see `notices`). Sending claims
a batch for a lease in a transaction of its own and commits the claim before talking to the
mail server, so the database is not held open while it answers; each outcome is written in a
second short transaction. When the mail server fails, that notice waits (the wait doubling)
and the round stops, leaving the rest of the batch for the next run, so a server that is
down is not asked again for every queued email. A message that cannot be built at all (a
header with a line break, text an email cannot carry) is marked failed at once, with the
reason, and the others still go.

Like the xAPI sender, this takes the `Database` and commits, unlike the rest of the domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.core.mail import MailDeliveryError, Mailer, OutgoingMail, UnsendableMail
from jesip_learn.notifications import notices, planning, reports
from jesip_learn.notifications.models import Notice, ReportSubscription
from jesip_learn.notifications.notices import NoticeDraft
from jesip_learn.notifications.preferences import (
    OPTIONAL_KINDS,
    UnsubscribeRequest,
    unsubscribe_token,
)
from jesip_learn.notifications.settings import NotificationSettings

log = logging.getLogger("jesip_learn.notifications")


@dataclass
class SendReport:
    recorded: int = 0
    sent: int = 0
    waiting: int = 0  # failed this time, to be tried again later
    failed: int = 0  # given up after the last try
    cancelled: int = 0
    failure: str = ""  # why the round stopped early, if it did

    def describe(self) -> str:
        text = (f"Notifications: {self.recorded} recorded, {self.sent} sent, "
                f"{self.waiting} to try again, {self.failed} failed, "
                f"{self.cancelled} cancelled")
        return f"{text}; stopped: {self.failure}" if self.failure else text


def record_due(database: Database, settings: NotificationSettings,
               now: datetime | None = None) -> int:
    """Record every notice due now that is not recorded yet. Returns how many this call
    recorded (another sender may have recorded the rest)."""
    now = now or utcnow()
    with database.write_session() as session:
        return sum(notices.record(session, draft, now)
                   for draft in planning.due_drafts(session, settings, now))


def planned(database: Database, settings: NotificationSettings,
            now: datetime | None = None) -> list[NoticeDraft]:
    """What `record_due` would record now, recording nothing (`notify send --dry-run`)."""
    with database.session() as session:
        drafts = list(planning.due_drafts(session, settings, now or utcnow()))
        session.rollback()
    return drafts


def send_due(database: Database, settings: NotificationSettings, mailer: Mailer, *,
             now: Callable[[], datetime] = utcnow) -> SendReport:
    """Record what is due, then send every queued notice whose time has come."""
    report = SendReport(recorded=record_due(database, settings, now()))
    while True:
        claimant = notices.new_claimant()
        with database.write_session() as session:
            claimed = [notice.id for notice in notices.claim(
                session, claimant, settings.batch_size, settings.lease_seconds, now())]
        if not claimed:
            break
        _send_batch(database, settings, mailer, claimant, claimed, report, now)
        if report.failure:
            log.warning("Notifications: the mail server failed; the rest wait for the next "
                        "run: %s", report.failure)
            break
    return report


def _send_batch(database: Database, settings: NotificationSettings, mailer: Mailer,
                claimant: str, claimed: list[int], report: SendReport,
                now: Callable[[], datetime]) -> None:
    for position, notice_id in enumerate(claimed):
        with database.session() as session:
            outcome = _deliver(session, settings, mailer, session.get(Notice, notice_id))
            session.rollback()
        with database.write_session() as session:
            _settle(session, settings, claimant, notice_id, outcome, report, now())
        if outcome[0] == "failed":
            report.failure = outcome[1]
            with database.write_session() as session:
                release(session, claimant, claimed[position + 1:])
            return


def _deliver(session: Session, settings: NotificationSettings, mailer: Mailer,
             notice: Notice) -> tuple[str, str]:
    """("sent" | "failed" | "unsendable" | "cancelled", why). "failed" is the mail
    server's doing and stops the round; "unsendable" is this message's own (a subject with a
    line break, say), so it alone fails, at once, and the others still go."""
    recipient = session.get(User, notice.recipient_id)
    if recipient is None or not recipient.is_active:
        return ("cancelled", "The recipient’s account was deactivated before the email was "
                             "sent")
    if notice.kind == "report" and (notice.subscription_id is None or session.get(
            ReportSubscription, notice.subscription_id) is None):
        return ("cancelled", "The scheduled report was stopped before it was sent")
    try:
        mail = outgoing_mail(session, settings, notice)
    except (ValueError, LookupError) as error:
        # This notice's own content (a report's file, say) cannot be made: it alone fails.
        return ("unsendable", f"The email could not be built: {error}")
    try:
        mailer.send(mail)
    except UnsendableMail as error:
        return ("unsendable", str(error))
    except MailDeliveryError as error:
        return ("failed", str(error) or type(error).__name__)
    return ("sent", "")


def _settle(session: Session, settings: NotificationSettings, claimant: str, notice_id: int,
            outcome: tuple[str, str], report: SendReport, now: datetime) -> None:
    status, reason = outcome
    if status == "sent":
        notices.mark_sent(session, claimant, notice_id, now)
        report.sent += 1
    elif status == "cancelled":
        notices.mark_cancelled(session, claimant, notice_id, reason)
        report.cancelled += 1
    elif status == "unsendable":
        notices.mark_unsendable(session, claimant, notice_id, reason)
        report.failed += 1
        log.error("Notifications: notice %s cannot be sent: %s", notice_id, reason)
    else:
        notices.mark_failed(session, claimant, notice_id, reason, settings, now)
        session.flush()
        if session.get(Notice, notice_id).status == notices.FAILED:
            report.failed += 1
            log.error("Notifications: notice %s given up after %s tries: %s", notice_id,
                      settings.max_attempts, reason)
        else:
            report.waiting += 1


def release(session: Session, claimant: str, ids: list[int]) -> None:
    """Give back notices not tried this round: due again at the next run, no try counted."""
    if ids:
        session.execute(update(Notice).where(Notice.id.in_(ids), Notice.claimed_by == claimant,
                                             Notice.status == notices.QUEUED)
                        .values(claimed_by=None, claimed_until=None),
                        execution_options={"synchronize_session": False})


def outgoing_mail(session: Session, settings: NotificationSettings,
                  notice: Notice) -> OutgoingMail:
    """The email of a notice: its recorded text and HTML, the unsubscribe headers of an
    optional email (RFC 2369 and the one-click POST of RFC 8058), and a report's file."""
    headers = []
    if notice.kind in OPTIONAL_KINDS:
        request = UnsubscribeRequest(notice.recipient_id, notice.kind,
                                     notice.subscription_id if notice.kind == "report" else None)
        link = settings.link(f"/unsubscribe/{unsubscribe_token(settings.secret_key, request)}")
        headers = [("List-Unsubscribe", f"<{link}>"),
                   ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    attachments = ()
    if notice.kind == "report":
        subscription = session.get(ReportSubscription, notice.subscription_id)
        as_of = date.fromisoformat(notice.details["as_of"])
        attachments = (reports.report_attachment(session, subscription, as_of,
                                                 settings.expiring_days).attachment,)
    return OutgoingMail(to=notice.to_address, subject=notice.mail_subject,
                        text=notice.text_body, html=notice.html_body,
                        attachments=attachments, headers=tuple(headers))
