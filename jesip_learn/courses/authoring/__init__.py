"""Authoring in the browser: trainers write, check, preview and publish courses.

Domain code (no Flask): every function takes a Session, the acting user and plain values,
checks the user may act (`editors.can_edit`), records changes in the audit log, and
returns dataclasses. Refusals raise `AuthoringError` or one of its kinds. Nothing is
committed here: the web layer commits once per request.

Module map: editors.py (who may edit; the trainers' list), working_copy.py (the draft's
files, or else the published version's), checking.py (parsing a draft's files, with the
editor's rule on the course code), drafts.py (what the editor's pages read: views, page
texts, files, previews), editing.py (locking the draft for a change, conflicts, audit of
page texts, stored bytes), changes.py (every change to a draft), publishing.py (publish,
restore, history, differences), archives.py (zip download and upload), diffs.py (what
changed, line by line), pages.py (file names, starter pages, titles in front matter),
uploads.py (what an uploaded file holds), errors.py.
"""

from jesip_learn.courses.authoring.archives import (
    CourseZip,
    ZipImport,
    course_zip,
    export_draft_zip,
    export_version_zip,
    import_zip_as_draft,
    import_zip_as_new_course,
)
from jesip_learn.courses.authoring.changes import (
    add_item,
    create_course,
    delete_file,
    delete_item,
    discard_draft,
    move_item,
    move_item_by,
    rename_item,
    save_page,
    upload_file,
)
from jesip_learn.courses.authoring.diffs import (
    ChangeSummary,
    DiffRow,
    FileChange,
    ItemChange,
    summarise_changes,
)
from jesip_learn.courses.authoring.drafts import (
    DraftFileData,
    DraftFileInfo,
    DraftItem,
    DraftValidation,
    DraftView,
    PagePreview,
    PageText,
    draft_file,
    draft_view,
    page_text,
    preview_page,
    validate_draft,
)
from jesip_learn.courses.authoring.editing import DraftChange
from jesip_learn.courses.authoring.editors import (
    EDITOR,
    OWNER,
    CompletionRow,
    EditorRow,
    TrainerCourse,
    add_editor,
    can_create_courses,
    can_edit,
    can_manage_editors,
    course_completions,
    course_editors,
    editable_courses,
    remove_editor,
    trainer_courses,
)
from jesip_learn.courses.authoring.errors import (
    AuthoringError,
    DraftConflict,
    NotAllowed,
    NotFound,
    PublishRefused,
    UploadRefused,
)
from jesip_learn.courses.authoring.pages import KIND_LABELS, KINDS
from jesip_learn.courses.authoring.publishing import (
    PublishOutcome,
    VersionDiff,
    VersionRow,
    diff_versions,
    draft_changes,
    publish_draft,
    restore_version,
    version_history,
)
from jesip_learn.courses.authoring.uploads import MAX_UPLOAD_BYTES
from jesip_learn.courses.authoring.working_copy import course_by_code

__all__ = [
    "EDITOR", "KINDS", "KIND_LABELS", "MAX_UPLOAD_BYTES", "OWNER",
    "AuthoringError", "ChangeSummary", "CompletionRow", "CourseZip", "DiffRow", "DraftChange",
    "DraftConflict", "DraftFileData", "DraftFileInfo", "DraftItem", "DraftValidation",
    "DraftView", "EditorRow", "FileChange", "ItemChange", "NotAllowed", "NotFound",
    "PagePreview", "PageText", "PublishOutcome", "PublishRefused", "TrainerCourse",
    "UploadRefused", "VersionDiff", "VersionRow", "ZipImport",
    "add_editor", "add_item", "can_create_courses", "can_edit", "can_manage_editors",
    "course_by_code", "course_completions", "course_editors", "course_zip", "create_course",
    "delete_file", "delete_item", "diff_versions", "discard_draft", "draft_changes",
    "draft_file", "draft_view", "editable_courses", "export_draft_zip", "export_version_zip",
    "import_zip_as_draft", "import_zip_as_new_course", "move_item", "move_item_by",
    "page_text", "preview_page", "publish_draft", "remove_editor", "rename_item",
    "restore_version", "save_page", "summarise_changes", "trainer_courses", "upload_file",
    "validate_draft", "version_history",
]
