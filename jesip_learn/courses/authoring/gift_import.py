"""Questions from a Moodle question bank (a GIFT file) added to a quiz page of the draft."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.content.gift import GiftImport, GiftRefused, import_into_page, read_bank
from jesip_learn.courses.authoring.changes import save_page
from jesip_learn.courses.authoring.drafts import page_text
from jesip_learn.courses.authoring.editing import DraftChange
from jesip_learn.courses.authoring.errors import AuthoringError
from jesip_learn.courses.models import Course


def add_gift_questions(session: Session, user: User, course: Course, path: str, data: bytes,
                       *, category: str = "") -> tuple[DraftChange, GiftImport]:
    """Add the bank's questions to the end of the quiz page `path` as it is saved now.
    AuthoringError when the page is no quiz or nothing in the file can be added;
    DraftConflict when someone saves the page at the same moment."""
    if not path.endswith(".quiz.md"):
        raise AuthoringError("Questions from a GIFT file can only go into a quiz page.",
                             field="bank")
    page = page_text(session, user, course, path)
    try:
        result = import_into_page(page.text, read_bank(data), title=path,
                                  category=category.strip() or None)
    except GiftRefused as refused:
        raise AuthoringError(refused.message, field="bank") from None
    change = save_page(session, user, course, path, result.text, base_sha256=page.sha256)
    return change, result
