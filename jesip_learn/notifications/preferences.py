"""What each person has chosen to be emailed, and the signed links that unsubscribe them.

An unsubscribe link names the person and the kind of email (and, for a scheduled report,
which one), signed with the site's secret key, so it works without signing in and cannot be
made up for someone else. It does not expire: the link in an old email must still work.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.notifications.models import NotificationPreference, ReportSubscription
from jesip_learn.notifications.settings import FREQUENCIES
from jesip_learn.records.audit import record_event

TOKEN_SALT = "notifications.unsubscribe"  # noqa: S105 - a salt, not a password
# The kinds of email a person may turn off, as the unsubscribe page names them.
OPTIONAL_KINDS = {
    "reminder": "reminders before your training runs out",
    "overdue": "notices when your training has run out",
    "report": "this scheduled report",
}


def preferences_for(session: Session, user: User) -> NotificationPreference:
    """The person's choices; the defaults (not saved) when they have made none."""
    saved = session.get(NotificationPreference, user.id)
    return saved or NotificationPreference(user_id=user.id, expiry_reminders=True,
                                           overdue_notices=True, digest_frequency=None)


# A manager's choices for the digest: the site's frequencies, or none at all.
DIGEST_CHOICES = {**FREQUENCIES, "off": "Never: I will look at the dashboard"}


def save_preferences(session: Session, user: User, *, expiry_reminders: bool,
                     overdue_notices: bool, digest_frequency: str | None) -> None:
    if digest_frequency is not None and digest_frequency not in DIGEST_CHOICES:
        raise ValueError("digest_frequency")
    before = _snapshot(preferences_for(session, user))
    saved = session.get(NotificationPreference, user.id)
    if saved is None:
        saved = NotificationPreference(user_id=user.id)
        session.add(saved)
    saved.expiry_reminders = expiry_reminders
    saved.overdue_notices = overdue_notices
    saved.digest_frequency = digest_frequency
    saved.updated_at = utcnow()
    session.flush()
    record_event(session, "notifications.preferences_changed", actor=user, subject=user,
                 summary="email preferences changed",
                 details={"before": before, "after": _snapshot(saved)})


def _snapshot(preference: NotificationPreference) -> dict:
    return {"expiry_reminders": preference.expiry_reminders,
            "overdue_notices": preference.overdue_notices,
            "digest_frequency": preference.digest_frequency}


# --- unsubscribe links -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    user_id: int
    kind: str  # one of OPTIONAL_KINDS
    subscription_id: int | None = None

    @property
    def description(self) -> str:
        return OPTIONAL_KINDS[self.kind]


def unsubscribe_token(secret_key: str, request: UnsubscribeRequest) -> str:
    payload = [request.user_id, request.kind]
    if request.subscription_id is not None:
        payload.append(request.subscription_id)
    return URLSafeSerializer(secret_key, salt=TOKEN_SALT).dumps(payload)


def read_unsubscribe_token(secret_key: str, token: str) -> UnsubscribeRequest | None:
    """The request the token was made for; None when it was not made by this site."""
    try:
        payload = URLSafeSerializer(secret_key, salt=TOKEN_SALT).loads(token)
    except BadSignature:
        return None
    if (not isinstance(payload, list) or len(payload) not in (2, 3)
            or not all(isinstance(part, int) for part in payload[::2])
            or payload[1] not in OPTIONAL_KINDS):
        return None
    subscription_id = payload[2] if len(payload) == 3 else None
    if (payload[1] == "report") != (subscription_id is not None):
        return None
    return UnsubscribeRequest(payload[0], payload[1], subscription_id)


def unsubscribe(session: Session, request: UnsubscribeRequest) -> bool:
    """Turn off what the link names. False when there is nothing left to turn off (the
    person or the report is gone, or it is off already): the link has done its job."""
    user = session.get(User, request.user_id)
    if user is None:
        return False
    if request.kind == "report":
        subscription = session.get(ReportSubscription, request.subscription_id)
        if subscription is None or subscription.user_id != user.id:
            return False
        record_event(session, "notifications.report_unsubscribed", actor=user, subject=user,
                     summary=f"scheduled report “{subscription.name}” stopped by its "
                             "unsubscribe link",
                     details={"subscription": subscription.id, "name": subscription.name})
        session.delete(subscription)
        session.flush()
        return True
    current = preferences_for(session, user)
    field_name = "expiry_reminders" if request.kind == "reminder" else "overdue_notices"
    if not getattr(current, field_name):
        return False
    choices = {"expiry_reminders": current.expiry_reminders,
               "overdue_notices": current.overdue_notices,
               "digest_frequency": current.digest_frequency, field_name: False}
    save_preferences(session, user, **choices)
    return True
