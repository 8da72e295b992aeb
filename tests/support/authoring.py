"""What the authoring tests (tests/test_authoring_*.py) share: the fixture course's folder, a
small PNG, and short ways to read, save and list a draft's pages and find its audit events.
Their fixtures (trainer, colleague, own_course, folder_course) are in tests/conftest.py."""

from pathlib import Path

from sqlalchemy import select

from jesip_learn.courses import authoring
from jesip_learn.records.models import AuditEvent

VALID = Path(__file__).parents[1] / "content" / "fixtures" / "valid-course"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)


def events(session, action):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)))


def text_of(session, user, course, path):
    return authoring.page_text(session, user, course, path)


def save(session, user, course, path, text):
    current = text_of(session, user, course, path)
    return authoring.save_page(session, user, course, path, text, base_sha256=current.sha256)


def item_paths(session, user, course):
    return [item.path for item in authoring.draft_view(session, user, course).items]
