"""Why an authoring operation was refused, in words a trainer can act on.

Every refusal is an `AuthoringError`: the web layer shows `message` (beside the form field
named by `field`, when there is one) and changes nothing. It is an input error
(core/input_errors.py), so one no view catches is the request edge's 400 page. `NotAllowed`
and `NotFound` are also the core refusals of the same names, which the edge answers with its
403 and 404 pages wherever they are not caught.
"""

from __future__ import annotations

from datetime import datetime

from jesip_learn.core import refusals
from jesip_learn.core.input_errors import InputError


class AuthoringError(InputError):
    """Refused, with a message for the trainer; `field` names the form field it is about."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotAllowed(AuthoringError, refusals.NotAllowed):
    """The user may not do this to this course."""


class NotFound(AuthoringError, refusals.NotFound):
    """No such page, file or version in the course."""


class UploadRefused(AuthoringError):
    """An uploaded image or zip was refused: too large, of a type a course can't hold,
    not what its name says it is, or carrying script. `problems` lists every problem
    found in a refused zip, each with its file and line, for the trainer to fix at once."""

    def __init__(self, message: str, *, field: str | None = None, problems=()):
        super().__init__(message, field=field)
        self.problems = tuple(problems)


class DraftConflict(AuthoringError):
    """Someone changed the draft after this editor opened it: nothing was saved.

    `path` is the file concerned (None when the conflict is about the whole draft),
    `changed_by` the name of whoever changed it last ("" when unknown) and `changed_at`
    when. `submitted_text` is what this editor sent, kept so that nothing typed is lost;
    `current_text` and `current_sha256` are what the file holds now (None when it has
    gone), for the page to show both and let the trainer merge.
    """

    def __init__(self, message: str, *, path: str | None = None, changed_by: str = "",
                 changed_at: datetime | None = None, submitted_text: str | None = None,
                 current_text: str | None = None, current_sha256: str | None = None):
        super().__init__(message)
        self.path = path
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.submitted_text = submitted_text
        self.current_text = current_text
        self.current_sha256 = current_sha256


class PublishRefused(AuthoringError):
    """The draft has problems, so nothing was published; `problems` lists every one."""

    def __init__(self, message: str, problems):
        super().__init__(message)
        self.problems = tuple(problems)
