"""Authoring in the browser (the domain): who may edit, drafts and their changes, conflicts,
checking and previews, publishing, history and differences, restore, zips, the audit log."""

import io
import json
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import PermissionGrant, User
from jesip_learn.content import (
    ExerciseScript,
    FileUrls,
    Quiz,
    Scenario,
    content_hash,
    parse_course_files,
    parse_course_folder,
)
from jesip_learn.content.archive import read_course_zip
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import diffs, pages, uploads, working_copy
from jesip_learn.courses.models import CourseDraft, CourseVersion, DraftFile, FileBlob
from jesip_learn.learning.models import Completion
from jesip_learn.records.models import AuditEvent
from tests.support.database import (
    configured_url,
    drop_sibling_database,
    migrate,
    sibling_database,
)
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
CLEAN_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
             b'<rect width="4" height="4"/></svg>')


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def trainer(make, organisation):
    return make.user(organisation=organisation, name="Tess Trainer", permissions={"trainer"})


@pytest.fixture
def colleague(make, organisation):
    return make.user(organisation=organisation, name="Colin Colleague", permissions={"trainer"})


@pytest.fixture
def learner(make, organisation):
    return make.user(organisation=organisation, name="Lee Learner")


@pytest.fixture
def folder_course(session):
    """A course imported from the courses folder by the command line: it has no owner."""
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.flush()
    return authoring.course_by_code(session, "JESIP-AWARE")


@pytest.fixture
def own_course(session, trainer):
    return authoring.create_course(session, trainer, title="Working with the Met Office",
                                   code="MET-1", summary="Weather warnings for commanders.")


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


def zip_of(files, folder="course"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(f"{folder}/{path}" if folder else path, data)
    return buffer.getvalue()


def folder_files():
    return dict(parse_course_folder(VALID).sources)


# --- who may edit ------------------------------------------------------------------------------


def test_the_creator_of_a_course_owns_it_and_only_editors_and_admins_may_edit(
        session, own_course, trainer, colleague, admin, learner):
    assert authoring.can_edit(session, trainer, own_course)
    assert authoring.can_manage_editors(session, trainer, own_course)
    assert not authoring.can_edit(session, colleague, own_course)
    assert authoring.can_edit(session, admin, own_course)
    assert not authoring.can_edit(session, learner, own_course)
    with pytest.raises(authoring.NotAllowed):
        authoring.add_item(session, colleague, own_course, kind="module", title="Not mine")
    change = authoring.add_item(session, admin, own_course, kind="module", title="Admin's")
    assert change.changed and events(session, "draft.item_added")[-1].actor_id == admin.id


def test_owners_name_editors_who_may_edit_but_not_choose_editors(
        session, own_course, trainer, colleague, make, organisation):
    other = make.user(organisation=organisation, permissions={"trainer"})
    with pytest.raises(authoring.NotAllowed):
        authoring.draft_view(session, colleague, own_course)
    authoring.add_editor(session, trainer, own_course, colleague)
    assert authoring.can_edit(session, colleague, own_course)
    assert not authoring.can_manage_editors(session, colleague, own_course)
    with pytest.raises(authoring.NotAllowed):
        authoring.add_editor(session, colleague, own_course, other)
    rows = authoring.course_editors(session, trainer, own_course)
    assert [(r.name, r.role) for r in rows] == [("Tess Trainer", "owner"),
                                                ("Colin Colleague", "editor")]
    assert rows[1].granted_by == "Tess Trainer"
    authoring.remove_editor(session, trainer, own_course, colleague)
    assert not authoring.can_edit(session, colleague, own_course)
    added, removed = (events(session, "course.editor_added")[-1],
                      events(session, "course.editor_removed")[-1])
    assert added.details["before"] is None and added.details["after"] == {"role": "editor"}
    assert removed.details["before"] == {"role": "editor"} and removed.details["after"] is None


def test_only_trainers_can_be_named_editors_or_create_courses(
        session, own_course, trainer, learner):
    with pytest.raises(authoring.AuthoringError, match="not a trainer") as refused:
        authoring.add_editor(session, trainer, own_course, learner)
    assert refused.value.field == "user"
    with pytest.raises(authoring.NotAllowed):
        authoring.create_course(session, learner, title="Mine", code="MINE")


def test_a_course_from_the_courses_folder_is_edited_only_by_admins_and_their_editors(
        session, folder_course, trainer, admin):
    assert not authoring.can_edit(session, trainer, folder_course)
    assert authoring.editable_courses(session, trainer) == []
    with pytest.raises(authoring.NotAllowed):
        save(session, trainer, folder_course, "course.md", "anything")
    with pytest.raises(authoring.NotAllowed):
        authoring.add_editor(session, trainer, folder_course, trainer)
    assert authoring.can_edit(session, admin, folder_course)
    authoring.add_editor(session, admin, folder_course, trainer)
    assert authoring.can_edit(session, trainer, folder_course)
    assert authoring.editable_courses(session, trainer) == [folder_course]
    assert not authoring.can_manage_editors(session, trainer, folder_course)


def test_a_trainer_who_loses_the_permission_can_no_longer_edit(session, own_course, trainer):
    trainer.grants.clear()  # an administrator took the trainer permission away
    session.flush()
    assert session.scalar(select(PermissionGrant).where(PermissionGrant.user_id == trainer.id)) \
        is None
    assert not authoring.can_edit(session, trainer, own_course)
    assert authoring.editable_courses(session, trainer) == []


# --- creating a course and the draft -------------------------------------------------------


def test_a_new_course_is_a_draft_that_validates_and_learners_do_not_see(
        session, own_course, trainer):
    view = authoring.draft_view(session, trainer, own_course)
    assert view.exists and view.published_version is None and view.has_changes
    assert view.title == "Working with the Met Office"
    assert [(i.path, i.kind, i.title) for i in view.items] == [
        ("01-introduction.md", "module", "Introduction")]
    assert authoring.validate_draft(session, trainer, own_course).ok
    assert courses.find_version(session, "MET-1") is None
    course_md = text_of(session, trainer, own_course, "course.md").text
    assert "code: MET-1" in course_md and "summary: Weather warnings for commanders." in course_md
    created = events(session, "course.created")[-1]
    assert created.actor_id == trainer.id and created.details["before"] is None
    assert set(created.details["after"]["files"]) == {"course.md", "01-introduction.md"}


def test_a_new_course_needs_a_free_plain_code_and_a_title(session, own_course, trainer):
    for kwargs, field in [({"title": "A", "code": "met-1"}, "code"),
                          ({"title": "A", "code": "has space"}, "code"),
                          ({"title": "  ", "code": "NEW"}, "title")]:
        with pytest.raises(authoring.AuthoringError) as refused:
            authoring.create_course(session, trainer, **kwargs)
        assert refused.value.field == field


def test_titles_that_need_quoting_in_yaml_round_trip(session, trainer):
    course = authoring.create_course(session, trainer, title='Risk: "joint" #1',
                                     code="Q-1", summary="- starts like a list")
    view = authoring.draft_view(session, trainer, course)
    assert view.title == 'Risk: "joint" #1'
    assert authoring.validate_draft(session, trainer, course).ok


def test_reading_a_course_never_edited_shows_the_published_version_and_starts_nothing(
        session, folder_course, admin):
    view = authoring.draft_view(session, admin, folder_course)
    assert not view.exists and view.revision == 0 and not view.has_changes
    assert view.published_version == view.base_version == 1
    assert [i.path for i in view.items] == ["01-why-interoperability.md",
                                            "02-the-five-principles.md",
                                            "05-check-your-understanding.quiz.md",
                                            "06-flooding.scenario.md"]
    assert {f.path for f in view.files} == {"images/fcp.png", "images/jdm.svg",
                                            "files/guide.pdf"}
    assert session.scalar(select(func.count()).select_from(CourseDraft)) == 0


def test_the_first_change_starts_the_draft_from_the_published_files_byte_for_byte(
        session, folder_course, admin):
    blobs = session.scalar(select(func.count()).select_from(FileBlob))
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    change = authoring.save_page(session, admin, folder_course, page.path,
                                 page.text + "\nA new line.\n", base_sha256=page.sha256)
    assert change.changed and change.revision == 1
    published = courses.version_sources(folder_course.published_version)
    drafted = working_copy.working_sources(session, folder_course)
    assert set(drafted) == set(published)
    assert {p for p in published if published[p] != drafted[p]} == {page.path}
    # Images are shared with the version, not copied.
    assert session.scalar(select(func.count()).select_from(FileBlob)) == blobs
    image = session.scalar(select(DraftFile).where(DraftFile.path == "images/fcp.png"))
    assert image.text is None and image.blob_sha256 == image.sha256
    view = authoring.draft_view(session, admin, folder_course)
    assert view.exists and view.has_changes and view.updated_by == "Alex Admin"


# --- editing pages ---------------------------------------------------------------------------


def test_a_page_with_mistakes_is_saved_and_its_problems_name_file_and_line(
        session, own_course, trainer):
    text = "---\ntitle: Broken quiz\npass_mark: 150\n---\n\n## A question with no answer\n"
    change = authoring.add_item(session, trainer, own_course, kind="quiz", title="Broken quiz")
    change = save(session, trainer, own_course, change.path, text)
    assert change.changed
    assert text_of(session, trainer, own_course, change.path).text == text  # kept as typed
    found = {(p.file, p.line) for p in change.problems_in(change.path)}
    assert (change.path, 3) in found  # the pass mark
    assert any(p.line == 6 for p in change.problems_in(change.path))  # the question
    assert not authoring.validate_draft(session, trainer, own_course).ok


def test_malformed_front_matter_is_reported_at_its_line(session, own_course, trainer):
    change = save(session, trainer, own_course, "01-introduction.md",
                  "---\ntitle: Intro\nminutes: [5\nobjectives: x\n---\n\nBody\n")
    (problem,) = change.problems_in("01-introduction.md")
    assert problem.line == 4 and problem.message.startswith("malformed YAML")
    assert str(problem) == f"01-introduction.md:4: {problem.message}"


def test_checking_unsaved_text_does_not_save_it(session, own_course, trainer):
    before = text_of(session, trainer, own_course, "01-introduction.md")
    result = authoring.validate_draft(session, trainer, own_course, path="01-introduction.md",
                                      text="---\nminutes: 5\n---\nNo title\n")
    assert [(p.file, p.line) for p in result.problems] == [("01-introduction.md", 1)]
    assert "title" in result.problems[0].message
    assert text_of(session, trainer, own_course, "01-introduction.md") == before


def test_a_browser_s_line_endings_follow_the_file_s_own(session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    edited = page.text.replace("\n", "\r\n").replace("A paragraph", "One paragraph")
    change = authoring.save_page(session, trainer, own_course, page.path, edited,
                                 base_sha256=page.sha256)
    saved = text_of(session, trainer, own_course, page.path).text
    assert "\r" not in saved and "One paragraph" in saved
    assert change.sha256 == text_of(session, trainer, own_course, page.path).sha256


def test_saving_the_same_text_changes_nothing(session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.save_page(session, trainer, own_course, page.path, page.text,
                                 base_sha256=page.sha256)
    assert not change.changed and change.revision == 1


def test_an_oversized_page_is_refused(session, own_course, trainer):
    with pytest.raises(authoring.AuthoringError, match="too long"):
        save(session, trainer, own_course, "01-introduction.md", "---\ntitle: x\n---\n"
             + "a" * 300_000)


def test_changing_the_course_code_is_a_problem_at_its_line(session, own_course, trainer):
    text = text_of(session, trainer, own_course, "course.md").text.replace("MET-1", "MET-2")
    change = save(session, trainer, own_course, "course.md", text)
    assert [(p.file, p.line) for p in change.problems] == [("course.md", 3)]
    assert "can't change" in change.problems[0].message
    with pytest.raises(authoring.PublishRefused):
        authoring.publish_draft(session, trainer, own_course, needs_renewal=False)


# --- conflicts ---------------------------------------------------------------------------


def test_two_trainers_saving_the_same_page_get_a_conflict_not_an_overwrite(
        session, own_course, trainer, colleague):
    authoring.add_editor(session, trainer, own_course, colleague)
    mine = text_of(session, trainer, own_course, "01-introduction.md")
    theirs = text_of(session, colleague, own_course, "01-introduction.md")
    authoring.save_page(session, colleague, own_course, theirs.path,
                        theirs.text + "\nColin's line.\n", base_sha256=theirs.sha256)
    with pytest.raises(authoring.DraftConflict) as conflict:
        authoring.save_page(session, trainer, own_course, mine.path, mine.text + "\nTess's.\n",
                            base_sha256=mine.sha256)
    error = conflict.value
    assert error.changed_by == "Colin Colleague" and error.changed_at is not None
    assert "Colin Colleague changed 01-introduction.md" in error.message
    assert error.submitted_text == mine.text + "\nTess's.\n"
    assert "Colin's line." in error.current_text
    assert error.current_sha256 == text_of(session, trainer, own_course, mine.path).sha256
    assert "Tess's" not in text_of(session, trainer, own_course, mine.path).text


def test_saving_a_page_someone_moved_is_a_conflict_that_keeps_the_text(
        session, own_course, trainer, colleague):
    authoring.add_editor(session, trainer, own_course, colleague)
    authoring.add_item(session, trainer, own_course, kind="module", title="Second")
    page = text_of(session, trainer, own_course, "02-second.md")
    authoring.move_item(session, colleague, own_course, "02-second.md", position=1)
    with pytest.raises(authoring.DraftConflict) as conflict:
        authoring.save_page(session, trainer, own_course, page.path, "my words",
                            base_sha256=page.sha256)
    assert conflict.value.submitted_text == "my words"
    assert conflict.value.changed_by == "Colin Colleague"
    assert "no longer in the draft" in conflict.value.message


def test_deleting_a_page_changed_since_it_was_opened_is_a_conflict(
        session, own_course, trainer, colleague):
    authoring.add_editor(session, trainer, own_course, colleague)
    seen = text_of(session, trainer, own_course, "01-introduction.md")
    save(session, colleague, own_course, "01-introduction.md", seen.text + "\nMore.\n")
    with pytest.raises(authoring.DraftConflict):
        authoring.delete_item(session, trainer, own_course, seen.path, base_sha256=seen.sha256)
    assert "01-introduction.md" in item_paths(session, trainer, own_course)


# --- items: add, rename, move, delete ------------------------------------------------------------


@pytest.mark.parametrize("kind, ending, built", [("module", ".md", None),
                                                 ("quiz", ".quiz.md", Quiz),
                                                 ("scenario", ".scenario.md", Scenario),
                                                 ("exercise", ".exercise.md", ExerciseScript)])
def test_a_new_item_of_each_kind_starts_from_a_page_that_validates(
        session, own_course, trainer, kind, ending, built):
    change = authoring.add_item(session, trainer, own_course, kind=kind,
                                title="Flooding at Riverside")
    assert change.path == f"02-flooding-at-riverside{ending}"
    assert change.problems == ()
    view = authoring.draft_view(session, trainer, own_course)
    assert [(i.kind, i.title, i.position) for i in view.items][-1] == (
        kind, "Flooding at Riverside", 2)
    preview = authoring.preview_page(session, trainer, own_course, change.path)
    assert preview.kind == kind and preview.problems == ()
    if built:
        assert isinstance(preview.item, built)
    event = events(session, "draft.item_added")[-1]
    assert event.details["after"]["path"] == change.path and event.details["before"] is None


def test_new_items_get_free_slugs_and_a_taken_slug_is_refused(session, own_course, trainer):
    first = authoring.add_item(session, trainer, own_course, kind="module", title="Intro")
    again = authoring.add_item(session, trainer, own_course, kind="quiz", title="Intro")
    assert (first.path, again.path) == ("02-intro.md", "03-intro-2.quiz.md")
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.add_item(session, trainer, own_course, kind="module", title="X",
                           slug="INTRO")
    assert refused.value.field == "slug"
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.add_item(session, trainer, own_course, kind="poll", title="X")
    assert refused.value.field == "kind"


def test_a_new_item_can_be_placed_at_a_position(session, own_course, trainer):
    change = authoring.add_item(session, trainer, own_course, kind="module", title="Safety first",
                                position=1)
    assert item_paths(session, trainer, own_course) == ["01-safety-first.md",
                                                        "02-introduction.md"]
    assert change.path == "01-safety-first.md"
    assert ("01-introduction.md", "02-introduction.md") in change.renamed


def test_renaming_a_title_changes_only_the_title_line(session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.rename_item(session, trainer, own_course, page.path,
                                   base_sha256=page.sha256, title="Before you start")
    after = text_of(session, trainer, own_course, page.path).text
    assert after == page.text.replace("title: Introduction", "title: Before you start")
    assert change.path == page.path and change.warnings == ()
    event = events(session, "draft.item_renamed")[-1]
    assert event.details["before"]["title"] == "Introduction"
    assert event.details["after"]["title"] == "Before you start"


def test_a_new_slug_renames_the_file_and_warns_when_learners_have_progress_on_it(
        session, folder_course, admin):
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    change = authoring.rename_item(session, admin, folder_course, page.path,
                                   base_sha256=page.sha256, slug="five-principles")
    assert change.path == "02-five-principles.md"
    assert change.renamed == (("02-the-five-principles.md", "02-five-principles.md"),)
    assert len(change.warnings) == 1 and "will not carry over" in change.warnings[0]
    assert "02-five-principles.md" in item_paths(session, admin, folder_course)
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.rename_item(session, admin, folder_course, change.path,
                              base_sha256=change.sha256, slug="no spaces please")
    assert refused.value.field == "slug"


def test_a_new_slug_for_an_unpublished_item_needs_no_warning(session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.rename_item(session, trainer, own_course, page.path,
                                   base_sha256=page.sha256, slug="welcome")
    assert change.path == "01-welcome.md" and change.warnings == ()


def test_moving_uses_a_free_number_when_there_is_one(session, folder_course, admin):
    # The fixture's pages are numbered 01, 02, 05, 06: 03 is free between 02 and 05.
    change = authoring.move_item(session, admin, folder_course, "06-flooding.scenario.md",
                                 position=3)
    assert change.renamed == (("06-flooding.scenario.md", "03-flooding.scenario.md"),)
    assert item_paths(session, admin, folder_course) == [
        "01-why-interoperability.md", "02-the-five-principles.md", "03-flooding.scenario.md",
        "05-check-your-understanding.quiz.md"]
    change = authoring.move_item_by(session, admin, folder_course,
                                    "01-why-interoperability.md", 10)
    assert change.path == "06-why-interoperability.md"


def test_moving_renumbers_only_the_items_whose_place_changes(session, own_course, trainer):
    authoring.add_item(session, trainer, own_course, kind="module", title="Two")
    authoring.add_item(session, trainer, own_course, kind="quiz", title="Three")
    authoring.add_item(session, trainer, own_course, kind="module", title="Four")
    change = authoring.move_item(session, trainer, own_course, "03-three.quiz.md", position=1)
    assert item_paths(session, trainer, own_course) == [
        "01-three.quiz.md", "02-introduction.md", "03-two.md", "04-four.md"]
    assert dict(change.renamed) == {"03-three.quiz.md": "01-three.quiz.md",
                                    "01-introduction.md": "02-introduction.md",
                                    "02-two.md": "03-two.md"}
    up = authoring.move_item_by(session, trainer, own_course, "04-four.md", -1)
    assert up.path == "03-four.md"
    assert not authoring.move_item(session, trainer, own_course, "03-four.md",
                                   position=3).changed
    event = events(session, "draft.item_moved")[0]
    assert event.details["before"] == {"path": "03-three.quiz.md", "position": 3}
    assert event.details["after"] == {"path": "01-three.quiz.md", "position": 1}
    assert authoring.validate_draft(session, trainer, own_course).ok


def test_deleting_an_item_removes_its_page_and_warns_when_it_was_published(
        session, folder_course, admin):
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    change = authoring.delete_item(session, admin, folder_course, page.path,
                                   base_sha256=page.sha256)
    assert change.path is None and "leaves the course" in change.warnings[0]
    assert page.path not in item_paths(session, admin, folder_course)
    event = events(session, "draft.item_deleted")[-1]
    assert event.details["before"]["sha256"] == page.sha256 and event.details["after"] is None
    with pytest.raises(authoring.AuthoringError):
        course_md = text_of(session, admin, folder_course, "course.md")
        authoring.delete_file(session, admin, folder_course, "course.md",
                              base_sha256=course_md.sha256)


# --- images and files ---------------------------------------------------------------------


def test_an_uploaded_image_gets_a_safe_name_and_a_link_to_use(session, own_course, trainer):
    change = authoring.upload_file(session, trainer, own_course, "C:\\photos\\..\\Forward Command "
                                   "Post (1).PNG", PNG)
    assert change.path == "images/forward-command-post-1.png"
    assert change.link == ("![Describe the picture for people who can't see it]"
                           "(images/forward-command-post-1.png)")
    data = authoring.draft_file(session, trainer, own_course, change.path)
    assert data.data == PNG and data.media_type == "image/png" and not data.download_only
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.save_page(session, trainer, own_course, page.path, page.text +
                                 "\n![A forward command post](images/forward-command-post-1.png)\n",
                                 base_sha256=page.sha256)
    assert change.problems == ()
    preview = authoring.preview_page(session, trainer, own_course, page.path,
                                     resolve_file=FileUrls("/draft-files/{path}"))
    assert 'src="/draft-files/images/forward-command-post-1.png"' in preview.item.html
    event = events(session, "draft.file_uploaded")[-1]
    assert event.details["before"] is None
    assert event.details["after"]["size"] == len(PNG)


@pytest.mark.parametrize("name, data, reason", [
    ("photo.png", b"<html><script>alert(1)</script></html>", "not a PNG image"),
    ("photo.jpg", PNG, "not a JPEG image"),
    ("photo.html", b"<html></html>", "Only images"),
    ("macro.docx", b"PK\x03\x04", "Only images"),
    ("photo.png", b"", "empty"),
    ("big.png", PNG + bytes(6 * 1024 * 1024), "too big"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "<script>"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event handler"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)">'
              b'<text>x</text></a></svg>', "links outside"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
              b'<image x:href="https://evil.example/x.png"/></svg>', "links outside"),
    ("x.svg", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
              b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>', "DOCTYPE"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div/></foreignObject>'
              b'</svg>', "foreignobject"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://e/x.css);'
              b'</style></svg>', "style"),
    ("x.svg", b"<html><body>not svg</body></html>", "not an SVG"),
    ("x.svg", b"<svg", "not well-formed"),
])
def test_hostile_or_unusable_uploads_are_refused_with_a_reason(
        session, own_course, trainer, name, data, reason):
    with pytest.raises(authoring.UploadRefused) as refused:
        authoring.upload_file(session, trainer, own_course, name, data)
    assert reason in refused.value.message and refused.value.field == "file"
    assert not [f for f in authoring.draft_view(session, trainer, own_course).files]


def test_a_clean_svg_and_a_pdf_are_accepted_as_downloads(session, own_course, trainer):
    svg = authoring.upload_file(session, trainer, own_course, "JDM.svg", CLEAN_SVG)
    pdf = authoring.upload_file(session, trainer, own_course, "Guide.pdf", b"%PDF-1.4\n%%EOF")
    assert (svg.path, pdf.path) == ("images/jdm.svg", "files/guide.pdf")
    assert svg.link.startswith("[") and authoring.draft_file(
        session, trainer, own_course, "images/jdm.svg").download_only
    kinds = {f.path: f.kind for f in authoring.draft_view(session, trainer, own_course).files}
    assert kinds == {"images/jdm.svg": "image", "files/guide.pdf": "file"}


def test_uploading_over_a_file_needs_its_current_content(session, own_course, trainer):
    first = authoring.upload_file(session, trainer, own_course, "map.png", PNG)
    newer = PNG + b"newer"
    with pytest.raises(authoring.AuthoringError, match="already has a file") as refused:
        authoring.upload_file(session, trainer, own_course, "map.png", newer)
    assert refused.value.field == "file"
    with pytest.raises(authoring.DraftConflict):
        authoring.upload_file(session, trainer, own_course, "map.png", newer,
                              replace_sha256="0" * 64)
    replaced = authoring.upload_file(session, trainer, own_course, "map.png", newer,
                                     replace_sha256=first.sha256)
    assert replaced.sha256 != first.sha256
    # The first bytes were never published and nothing holds them now: they are gone.
    assert session.get(FileBlob, first.sha256) is None


def test_deleting_an_image_a_page_uses_warns_and_leaves_a_problem(session, folder_course, admin):
    image = next(f for f in authoring.draft_view(session, admin, folder_course).files
                 if f.path == "images/fcp.png")
    change = authoring.delete_file(session, admin, folder_course, image.path,
                                   base_sha256=image.sha256)
    assert "01-why-interoperability.md" in change.warnings[0]
    assert any(p.file == "01-why-interoperability.md" and p.line == 9
               and "image not found" in p.message for p in change.problems)
    # The bytes stay: the published version still holds them.
    assert session.get(FileBlob, image.sha256) is not None
    with pytest.raises(authoring.AuthoringError, match="as an item"):
        page = text_of(session, admin, folder_course, "02-the-five-principles.md")
        authoring.delete_file(session, admin, folder_course, page.path, base_sha256=page.sha256)


# --- previews -----------------------------------------------------------------------------------


def test_previews_use_the_learners_rendering(session, folder_course, admin):
    module = authoring.preview_page(session, admin, folder_course, "01-why-interoperability.md")
    assert module.kind == "module" and "<table>" in module.item.html
    assert 'src="images/fcp.png"' in module.item.html and module.problems == ()
    quiz = authoring.preview_page(session, admin, folder_course,
                                  "05-check-your-understanding.quiz.md")
    assert isinstance(quiz.item, Quiz) and len(quiz.item.questions) == 3
    scenario = authoring.preview_page(session, admin, folder_course, "06-flooding.scenario.md")
    assert isinstance(scenario.item, Scenario) and scenario.item.start == "first-call"
    course = authoring.preview_page(session, admin, folder_course, "course.md")
    assert course.kind == "course" and course.item is None
    assert "Overview shown" in course.course.overview_html


def test_a_preview_of_unsaved_text_shows_it_and_its_problems(session, own_course, trainer):
    preview = authoring.preview_page(session, trainer, own_course, "01-introduction.md",
                                     text="---\ntitle: Draft\n---\n\n## Heading\n\n"
                                          "![](images/missing.png)\n")
    assert "Heading" in preview.item.html
    assert {p.line for p in preview.problems} == {7} and preview.problem_count == 2
    assert text_of(session, trainer, own_course, "01-introduction.md").text.count("Heading") == 0


# --- publishing ------------------------------------------------------------------------------


def test_publishing_makes_a_version_learners_see(session, own_course, trainer):
    outcome = authoring.publish_draft(session, trainer, own_course, needs_renewal=False,
                                      note="First release")
    assert outcome.changed and outcome.version_number == 1
    version = courses.find_version(session, "MET-1")
    assert version.number == 1 and version.source == "editor" and version.note == "First release"
    assert version.published_by_id == trainer.id
    assert [item.slug for item in version.items] == ["introduction"]
    assert version.content_hash == content_hash(
        working_copy.working_sources(session, own_course))
    view = authoring.draft_view(session, trainer, own_course)
    assert not view.has_changes and view.base_version == 1 and not view.is_outdated
    assert {c.path for c in outcome.summary.files} == {"course.md", "01-introduction.md"}


def test_publishing_again_records_needs_renewal_and_the_audit_before_and_after(
        session, own_course, trainer):
    first = authoring.publish_draft(session, trainer, own_course, needs_renewal=False)
    page = text_of(session, trainer, own_course, "01-introduction.md")
    authoring.save_page(session, trainer, own_course, page.path, page.text + "\nNew law.\n",
                        base_sha256=page.sha256)
    second = authoring.publish_draft(session, trainer, own_course, needs_renewal=True,
                                     note="The law changed")
    assert second.version_number == 2 and second.needs_renewal
    assert courses.find_version(session, "MET-1").needs_renewal
    assert not courses.find_version(session, "MET-1", 1).needs_renewal
    assert second.summary.files_changed == ("01-introduction.md",)
    event = events(session, "course.draft_published")[-1]
    assert event.details["before"]["version"] == first.version_number
    assert event.details["after"] == {"version": 2, "content_hash":
                                      courses.find_version(session, "MET-1").content_hash}
    assert event.details["needs_renewal"] is True and event.details["changes"]["files_changed"] == 1


def test_publishing_an_unchanged_draft_says_nothing_changed(session, folder_course, admin):
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    change = authoring.save_page(session, admin, folder_course, page.path, page.text + "x",
                                 base_sha256=page.sha256)
    authoring.save_page(session, admin, folder_course, page.path, page.text,
                        base_sha256=change.sha256)
    outcome = authoring.publish_draft(session, admin, folder_course, needs_renewal=True)
    assert not outcome.changed and outcome.version_number == 1 and outcome.summary.unchanged
    assert session.scalar(select(func.count()).select_from(CourseVersion)) == 1


def test_a_draft_with_problems_is_not_published(session, own_course, trainer):
    save(session, trainer, own_course, "01-introduction.md", "no front matter")
    with pytest.raises(authoring.PublishRefused) as refused:
        authoring.publish_draft(session, trainer, own_course, needs_renewal=False)
    assert [(p.file, p.line) for p in refused.value.problems] == [("01-introduction.md", 1)]
    assert courses.find_version(session, "MET-1") is None
    assert text_of(session, trainer, own_course, "01-introduction.md").text == "no front matter"


def test_a_draft_older_than_the_published_version_asks_before_replacing_it(
        session, folder_course, admin, tmp_path):
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    authoring.save_page(session, admin, folder_course, page.path, page.text + "\nDraft.\n",
                        base_sha256=page.sha256)
    import shutil
    copy = shutil.copytree(VALID, tmp_path / "valid-course")
    (copy / "course.md").write_text((copy / "course.md").read_text() + "\nNewer.\n")
    courses.import_parsed(session, courses.parse_folders(copy))  # version 2, from the folder
    assert authoring.draft_view(session, admin, folder_course).is_outdated
    with pytest.raises(authoring.DraftConflict, match="Version 2 was published"):
        authoring.publish_draft(session, admin, folder_course, needs_renewal=False)
    outcome = authoring.publish_draft(session, admin, folder_course, needs_renewal=False,
                                      replace_newer=True)
    assert outcome.version_number == 3
    assert not authoring.draft_view(session, admin, folder_course).is_outdated


def test_discarding_the_draft_goes_back_to_the_published_version(session, folder_course, admin):
    authoring.add_item(session, admin, folder_course, kind="quiz", title="Extra")
    change = authoring.discard_draft(session, admin, folder_course)
    assert change.changed
    assert not authoring.draft_view(session, admin, folder_course).has_changes
    assert events(session, "draft.discarded")


# --- history, differences and restore ---------------------------------------------------------


@pytest.fixture
def two_versions(session, own_course, trainer):
    authoring.publish_draft(session, trainer, own_course, needs_renewal=False, note="one")
    page = text_of(session, trainer, own_course, "01-introduction.md")
    lines = page.text.split("\n")
    lines[9] = "A changed paragraph."
    authoring.save_page(session, trainer, own_course, page.path, "\n".join(lines),
                        base_sha256=page.sha256)
    authoring.add_item(session, trainer, own_course, kind="quiz", title="Check")
    authoring.move_item(session, trainer, own_course, "02-check.quiz.md", position=1)
    authoring.upload_file(session, trainer, own_course, "map.png", PNG)
    authoring.publish_draft(session, trainer, own_course, needs_renewal=True, note="two")
    return own_course


def test_history_lists_every_version_with_who_and_when(session, two_versions, trainer):
    rows = authoring.version_history(session, trainer, two_versions)
    assert [(r.number, r.note, r.needs_renewal, r.is_published) for r in rows] == [
        (2, "two", True, True), (1, "one", False, False)]
    assert rows[0].published_by == "Tess Trainer" and rows[0].source == "editor"
    assert rows[0].source_label == "Published from the editor"


def test_a_diff_between_versions_lists_files_items_and_numbered_lines(
        session, two_versions, trainer):
    diff = authoring.diff_versions(session, trainer, two_versions, 1, 2).summary
    changes = {c.path: c for c in diff.files}
    assert set(changes) == {"01-check.quiz.md", "02-introduction.md", "images/map.png"}
    moved = changes["02-introduction.md"]
    assert moved.change == "renamed" and moved.old_path == "01-introduction.md"
    removed = [r for r in moved.rows if r.kind == "removed"]
    added = [r for r in moved.rows if r.kind == "added"]
    assert [(r.old_line, r.new_line) for r in removed] == [(10, None)]
    assert [(r.old_line, r.new_line, r.text) for r in added] == [
        (None, 10, "A changed paragraph.")]
    assert moved.rows[0].kind == "skipped" and moved.rows[0].skipped == 6
    assert all(r.old_line == r.new_line for r in moved.rows if r.kind == "same")
    assert changes["images/map.png"].change == "added" and not changes["images/map.png"].rows
    assert changes["01-check.quiz.md"].change == "added"
    items = {i.slug: i for i in diff.items}
    assert items["check"].change == "added" and items["check"].new_position == 1
    intro = items["introduction"]
    assert intro.change == "changed" and intro.moved and intro.edited and not intro.retitled
    backwards = authoring.diff_versions(session, trainer, two_versions, 2, 1).summary
    assert {i.slug: i.change for i in backwards.items}["check"] == "removed"


def test_the_draft_changes_are_what_publishing_would_change(session, two_versions, trainer):
    assert authoring.draft_changes(session, trainer, two_versions).unchanged
    page = text_of(session, trainer, two_versions, "01-check.quiz.md")
    authoring.rename_item(session, trainer, two_versions, page.path, base_sha256=page.sha256,
                          title="Check what you know")
    summary = authoring.draft_changes(session, trainer, two_versions)
    assert summary.files_changed == ("01-check.quiz.md",)
    (item,) = summary.items
    assert item.retitled and item.new_title == "Check what you know"


def test_restoring_publishes_an_old_version_again(session, two_versions, trainer):
    outcome = authoring.restore_version(session, trainer, two_versions, 1, needs_renewal=False)
    assert outcome.changed and outcome.version_number == 3
    third, first = (courses.find_version(session, "MET-1"),
                    courses.find_version(session, "MET-1", 1))
    assert third.content_hash == first.content_hash and third.source == "restore"
    assert third.note == "Restored version 1"
    # The draft had no changes of its own, so it follows the course back.
    view = authoring.draft_view(session, trainer, two_versions)
    assert not view.has_changes and not view.is_outdated
    assert [i.path for i in view.items] == ["01-introduction.md"]
    event = events(session, "course.version_restored")[-1]
    assert event.details["restored"] == 1
    assert event.details["before"]["version"] == 2 and event.details["after"]["version"] == 3
    again = authoring.restore_version(session, trainer, two_versions, 3, needs_renewal=False)
    assert not again.changed
    with pytest.raises(authoring.NotFound):
        authoring.restore_version(session, trainer, two_versions, 9, needs_renewal=False)


def test_restoring_leaves_a_draft_with_changes_alone(session, two_versions, trainer):
    save(session, trainer, two_versions, "01-check.quiz.md",
         text_of(session, trainer, two_versions, "01-check.quiz.md").text + "\n")
    authoring.restore_version(session, trainer, two_versions, 1, needs_renewal=False)
    view = authoring.draft_view(session, trainer, two_versions)
    assert view.is_outdated and "01-check.quiz.md" in [i.path for i in view.items]


# --- zips ----------------------------------------------------------------------------------


def test_a_version_downloads_as_a_zip_that_imports_with_the_same_hash(
        session, folder_course, admin):
    download = authoring.export_version_zip(session, admin, folder_course)
    assert download.filename == "valid-course-version-1.zip"
    archive = read_course_zip(download.data)
    assert archive.folder_name == "valid-course"
    assert content_hash(archive.files) == folder_course.published_version.content_hash
    assert authoring.export_version_zip(session, admin, folder_course).data == download.data
    result = authoring.import_zip_as_draft(session, admin, folder_course, download.data,
                                           expected_revision=0)
    assert result.summary.unchanged and result.problems == ()
    assert not authoring.publish_draft(session, admin, folder_course,
                                       needs_renewal=False).changed


def test_a_zip_becomes_a_new_course_owned_by_its_importer(session, trainer, admin):
    files = folder_files()
    result = authoring.import_zip_as_new_course(session, trainer, zip_of(files, "awareness"))
    course = result.course
    assert course.code == "JESIP-AWARE" and course.slug == "awareness"
    assert authoring.course_editors(session, trainer, course)[0].role == "owner"
    assert result.problems == () and set(result.summary.files_added) == set(files)
    assert courses.find_version(session, "JESIP-AWARE") is None  # not published yet
    outcome = authoring.publish_draft(session, trainer, course, needs_renewal=False)
    assert courses.find_version(session, "JESIP-AWARE").content_hash == content_hash(files)
    assert outcome.version_number == 1
    with pytest.raises(authoring.UploadRefused, match="already a course"):
        authoring.import_zip_as_new_course(session, admin, zip_of(files))


def test_a_zip_with_problems_still_becomes_a_draft_with_them_listed(session, trainer):
    files = folder_files()
    files["02-the-five-principles.md"] = b"---\ntitle: [broken\n---\n"
    result = authoring.import_zip_as_new_course(session, trainer, zip_of(files))
    assert any(p.file == "02-the-five-principles.md" and p.line == 2 for p in result.problems)
    view = authoring.draft_view(session, trainer, result.course)
    assert view.exists and view.published_version is None


def test_a_zip_as_the_draft_of_a_course_says_what_changes(session, folder_course, admin):
    files = folder_files()
    del files["02-the-five-principles.md"]
    files["01-why-interoperability.md"] = files["01-why-interoperability.md"].replace(
        b"title: Why interoperability matters", b"title: Why we work together")
    files["07-recap.md"] = b"---\ntitle: Recap\n---\n\nThe end.\n"
    files["06-flood.scenario.md"] = files.pop("06-flooding.scenario.md")
    result = authoring.import_zip_as_draft(session, admin, folder_course, zip_of(files),
                                           expected_revision=0)
    summary = result.summary
    assert summary.files_added == ("06-flood.scenario.md", "07-recap.md")
    assert summary.files_removed == ("02-the-five-principles.md", "06-flooding.scenario.md")
    assert summary.files_changed == ("01-why-interoperability.md",)
    items = {(i.slug, i.change) for i in summary.items}
    assert {("recap", "added"), ("the-five-principles", "removed"), ("flood", "added"),
            ("flooding", "removed"), ("why-interoperability", "changed"),
            ("check-your-understanding", "changed")} == items
    quiz = next(i for i in summary.items if i.slug == "check-your-understanding")
    assert quiz.moved and not quiz.edited and (quiz.old_position, quiz.new_position) == (3, 2)
    retitled = next(i for i in summary.items if i.slug == "why-interoperability")
    assert retitled.retitled and retitled.old_title == "Why interoperability matters"
    assert result.revision == 1
    assert working_copy.working_sources(session, folder_course) == files
    assert courses.find_version(session, "JESIP-AWARE").number == 1  # nothing published
    event = events(session, "draft.zip_imported")[-1]
    assert event.details["after"]["content_hash"] == content_hash(files)
    assert event.details["changes"]["files_added"] == 2


def test_a_zip_does_not_replace_a_draft_changed_since_it_was_looked_at(
        session, folder_course, admin):
    seen = authoring.draft_view(session, admin, folder_course).revision
    authoring.add_item(session, admin, folder_course, kind="module", title="Mine")
    with pytest.raises(authoring.DraftConflict, match="Alex Admin changed the draft"):
        authoring.import_zip_as_draft(session, admin, folder_course, zip_of(folder_files()),
                                      expected_revision=seen)


def test_a_zip_of_another_course_or_by_someone_else_is_refused(
        session, folder_course, own_course, trainer):
    with pytest.raises(authoring.UploadRefused, match="JESIP-AWARE, not MET-1"):
        authoring.import_zip_as_draft(session, trainer, own_course, zip_of(folder_files()),
                                      expected_revision=1)
    with pytest.raises(authoring.NotAllowed):
        authoring.import_zip_as_draft(session, trainer, folder_course, zip_of(folder_files()),
                                      expected_revision=0)


def _with(extra):
    return {**folder_files(), **extra}


@pytest.mark.parametrize("data, reason", [
    (b"not a zip", "not a zip file"),
    (zip_of({"../../etc/evil.md": b"x", "course.md": b"y"}, folder=""), "outside the course"),
    (zip_of(_with({"notes.docx": b"PK\x03\x04"})), "notes.docx:1: files of this type are not"),
    (zip_of(_with({"images/photo.png": b"<script>alert(1)</script>"})), "not a PNG image"),
    (zip_of(_with({"images/bad.svg": b'<svg xmlns="http://www.w3.org/2000/svg" '
                                     b'onload="alert(1)"/>'})), "event handler"),
    (zip_of(_with({"01-big.md": b"a" * (300 * 1024)})), "01-big.md:1: the file is too big"),
    (zip_of(_with({"01-latin.md": "caf\xe9".encode("latin-1")})), "not UTF-8"),
    (zip_of({"01-a.md": b"---\ntitle: a\n---\n"}), "no course.md"),
    (zip_of(_with({"course.md": b"---\ntitle: No code\n---\n"})), "course.md:1: missing code"),
])
def test_hostile_or_unusable_zips_are_refused_with_a_reason(session, trainer, data, reason):
    with pytest.raises(authoring.UploadRefused) as refused:
        authoring.import_zip_as_new_course(session, trainer, data)
    said = [refused.value.message, *map(str, refused.value.problems)]
    assert any(reason in each for each in said), said
    assert refused.value.field == "archive"
    assert authoring.editable_courses(session, trainer) == []


def test_a_refused_zip_lists_every_problem_as_the_command_line_does(session, trainer):
    """Eight mistakes, one of them the missing code that stops a new course: all eight are
    listed, each with its file and line, not only the first."""
    files = _with({
        "course.md": b"---\ntitle: No code\nminutes: an hour\n---\n",
        "01-introduction.md": b"---\ntitle: Intro\n---\n\n![A map](images/mapp.png)\n\n"
                              b"![](images/map.png)\n",
        "images/map.png": b"\x89PNG\r\n\x1a\n",
        "images/photo.png": b"<script>alert(1)</script>",
        "notes.docx": b"PK\x03\x04",
        "02-scenario.scenario.md": b"---\ntitle: S\nstart: a\n---\n\n## A {#a}\n\n"
                                   b"- [On](#win)\n- [Late](#lat)\n\n"
                                   b"## Win {#win .end result=pass}\n\n"
                                   b"## Late {#late .end result=fail}\n",
    })
    expected = folder_problems = parse_course_files(files).problems
    assert len(folder_problems) == 7  # what `courses validate` says of the folder
    with pytest.raises(authoring.UploadRefused) as refused:
        authoring.import_zip_as_new_course(session, trainer, zip_of(files))
    problems = refused.value.problems
    assert refused.value.message == ("The zip can’t be imported: it has 8 problems, listed "
                                     "below by file. Fix them and upload the zip again.")
    assert [str(p) for p in problems] == sorted(
        [str(p) for p in expected] + ["images/photo.png:1: The file is not a PNG image, "
                                      "whatever its name says."],
        key=lambda text: (not text.startswith("course.md"), text.split(":")[0],
                          int(text.split(":")[1])))
    assert "course.md:1: missing code: add 'code: ...' to the front matter" in map(str, problems)
    assert any(p.file == "02-scenario.scenario.md" and "because the link on line 9 is broken"
               in p.message for p in problems)


def test_the_draft_downloads_as_a_zip_too(session, own_course, trainer):
    download = authoring.export_draft_zip(session, trainer, own_course)
    assert download.filename == "met-1-draft.zip"
    assert set(read_course_zip(download.data).files) == {"course.md", "01-introduction.md"}
    with pytest.raises(authoring.NotFound):
        authoring.export_version_zip(session, trainer, own_course)


# --- the trainers' list, and who completed a course ----------------------------------------------


def test_the_trainers_list_shows_versions_draft_changes_and_completions(
        session, own_course, folder_course, trainer, admin, learner):
    (row,) = authoring.trainer_courses(session, trainer)
    assert (row.title, row.published_version, row.has_draft_changes) == (
        "Working with the Met Office", None, True)
    authoring.publish_draft(session, trainer, own_course, needs_renewal=False)
    version = courses.find_version(session, "MET-1")
    session.add(Completion(user_id=learner.id, course_id=own_course.id, version_id=version.id,
                           completed_at=utcnow(), certificate_code="AUTH-TEST-1"))
    session.flush()
    (row,) = authoring.trainer_courses(session, trainer)
    assert (row.code, row.title, row.role, row.published_version, row.versions) == (
        "MET-1", "Working with the Met Office", "owner", 1, 1)
    assert not row.has_draft_changes and row.completed_by == 1
    authoring.add_item(session, trainer, own_course, kind="module", title="More")
    (row,) = authoring.trainer_courses(session, trainer)
    assert row.has_draft_changes and row.draft_updated_by == "Tess Trainer"
    rows = {r.code: r for r in authoring.trainer_courses(session, admin)}
    assert rows["JESIP-AWARE"].role == "admin" and not rows["JESIP-AWARE"].has_draft_changes
    (completed,) = authoring.course_completions(session, trainer, own_course)
    assert (completed.name, completed.organisation, completed.version) == (
        "Lee Learner", "Northshire Police", 1)
    with pytest.raises(authoring.NotAllowed):
        authoring.course_completions(session, trainer, folder_course)


# --- the audit log ---------------------------------------------------------------------------


def test_page_edits_are_audited_with_hashes_and_a_short_diff_not_whole_texts(
        session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    long_text = page.text + "".join(f"Line {n} of a long page.\n" for n in range(3000))
    change = authoring.save_page(session, trainer, own_course, page.path, long_text,
                                 base_sha256=page.sha256)
    event = events(session, "draft.page_saved")[-1]
    assert event.actor_id == trainer.id and event.summary == "MET-1: 01-introduction.md edited"
    assert event.details["before"]["sha256"] == page.sha256
    assert event.details["after"] == {"sha256": change.sha256,
                                      "size": len(long_text.encode()),
                                      "lines": len(long_text.splitlines())}
    assert event.details["diff_cut"] and len(event.details["diff"]) == 40
    assert "+Line 0 of a long page." in event.details["diff"]
    assert len(json.dumps(event.details)) < 5000


def test_every_change_leaves_an_audit_event(session, own_course, trainer):
    authoring.add_item(session, trainer, own_course, kind="module", title="Two")
    image = authoring.upload_file(session, trainer, own_course, "a.png", PNG)
    authoring.delete_file(session, trainer, own_course, image.path, base_sha256=image.sha256)
    authoring.move_item(session, trainer, own_course, "02-two.md", position=1)
    page = text_of(session, trainer, own_course, "01-two.md")
    authoring.rename_item(session, trainer, own_course, page.path, base_sha256=page.sha256,
                          title="Second")
    authoring.publish_draft(session, trainer, own_course, needs_renewal=False)
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    for action in ["course.created", "draft.item_added", "draft.file_uploaded",
                   "draft.file_deleted", "draft.item_moved", "draft.item_renamed",
                   "course.published", "course.draft_published"]:
        assert action in actions
    revisions = [e.details.get("revision") for e in events(session, "draft.item_moved")]
    assert revisions == [5]


# --- the pure parts ----------------------------------------------------------------------------


def test_line_rows_number_both_sides_and_skip_long_unchanged_runs():
    old = [f"line {n}" for n in range(1, 21)]
    new = old[:9] + ["inserted"] + old[9:19]
    rows = diffs.line_rows(old, new)
    assert rows[0] == diffs.DiffRow("skipped", 1, 1, "", skipped=6)
    assert diffs.DiffRow("added", None, 10, "inserted") in rows
    assert diffs.DiffRow("removed", 20, None, "line 20") in rows
    assert [(r.kind, r.old_line, r.new_line) for r in rows] == [
        ("skipped", 1, 1), ("same", 7, 7), ("same", 8, 8), ("same", 9, 9), ("added", None, 10),
        ("same", 10, 11), ("same", 11, 12), ("same", 12, 13), ("skipped", 13, 14),
        ("same", 17, 18), ("same", 18, 19), ("same", 19, 20), ("removed", 20, None)]
    assert rows[8].skipped == 4
    assert diffs.line_rows(old, old) == ()


def test_with_title_keeps_every_other_line():
    text = "---\r\ntitle: >\r\n  Folded\r\n  title\r\nminutes: 3 # note\r\n---\r\nBody\r\n"
    assert pages.with_title(text, "New: title") == (
        '---\r\ntitle: "New: title"\r\nminutes: 3 # note\r\n---\r\nBody\r\n')
    assert pages.with_title("---\nminutes: 1\n---\n", "T") == "---\ntitle: T\nminutes: 1\n---\n"
    assert pages.page_title(pages.with_title("Body only", "T")) == "T"


def test_names_become_safe_slugs_and_paths():
    assert pages.slugify("Joint Decision Model: the 5 stages!") == (
        "joint-decision-model-the-5-stages")
    assert pages.slugify("Café crème") == "cafe-creme"
    assert uploads.safe_upload_path("../../Évacuation Map.JPEG") == "images/evacuation-map.jpg"
    assert uploads.safe_upload_path("..\\x\\guide.pdf") == "files/guide.pdf"
    with pytest.raises(authoring.UploadRefused):
        uploads.safe_upload_path("run.exe")


def test_the_authoring_package_imports_without_flask():
    code = ("import sys, jesip_learn.courses.authoring\n"
            "print([m for m in ('flask', 'flask_login', 'flask_wtf') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


# --- two editors at the same moment, against a real database -------------------------------------


@pytest.fixture
def committed_url(tmp_path):
    """An empty migrated database that commits for real: SQLite in a file, or a sibling of
    the configured PostgreSQL test database."""
    url = configured_url()
    url = sibling_database(url, "authoring") if url else f"sqlite:///{tmp_path / 'race.db'}"
    migrate(url)
    yield url
    if not url.startswith("sqlite"):
        drop_sibling_database(url)


@pytest.mark.parametrize("draft_exists", [True, False])
def test_saves_of_one_page_at_the_same_moment_give_one_save_and_one_conflict(
        committed_url, draft_exists):
    """With no draft yet, both saves also race to start it."""
    database = Database(committed_url)
    with database.write_session() as session:
        organisation = make_organisation(session)
        first_user = make_user(session, organisation=organisation, permissions={"trainer"})
        second_user = make_user(session, organisation=organisation, permissions={"trainer"})
        admin = make_user(session, organisation=organisation, permissions={"admin"})
        if draft_exists:
            course = authoring.create_course(session, admin, title="Race", code="RACE")
        else:
            courses.import_parsed(session, courses.parse_folders(VALID))
            course = authoring.course_by_code(session, "JESIP-AWARE")
        authoring.add_editor(session, admin, course, first_user)
        authoring.add_editor(session, admin, course, second_user)
        code = course.code
        base = authoring.page_text(session, first_user, course, "course.md")
        ids = first_user.id, second_user.id
    assert (session_drafts(database) == 1) is draft_exists
    holding, release, results = threading.Event(), threading.Event(), {}

    def save_as(user_id, words, *, hold=False):
        try:
            with database.write_session() as session:
                user = session.get(User, user_id)
                course = authoring.course_by_code(session, code)
                authoring.save_page(session, user, course, base.path, base.text + words,
                                    base_sha256=base.sha256)
                if hold:  # keep the transaction open while the other editor saves
                    holding.set()
                    release.wait(10)
            results[words] = "saved"
        except authoring.DraftConflict as conflict:
            results[words] = conflict

    first = threading.Thread(target=save_as, args=(ids[0], "first"), kwargs={"hold": True})
    second = threading.Thread(target=lambda: holding.wait(10) and save_as(ids[1], "second"))
    first.start()
    second.start()
    holding.wait(10)
    time.sleep(0.5)  # the second save is now waiting for the first's transaction
    release.set()
    first.join(15)
    second.join(15)
    assert results["first"] == "saved"
    assert isinstance(results["second"], authoring.DraftConflict)
    assert results["second"].submitted_text == base.text + "second"
    with database.session() as session:
        course = authoring.course_by_code(session, code)
        saved = authoring.page_text(session, session.get(User, ids[0]), course, base.path)
        assert saved.text == base.text + "first"
    assert session_drafts(database) == 1
    database.engine.dispose()


def session_drafts(database):
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(CourseDraft))


def test_the_last_owner_cannot_be_removed(session, own_course, trainer, colleague):
    with pytest.raises(authoring.NotAllowed, match="only owner"):
        authoring.remove_editor(session, trainer, own_course, trainer)
    authoring.add_editor(session, trainer, own_course, colleague, authoring.OWNER)
    authoring.remove_editor(session, colleague, own_course, trainer)
    assert [r.name for r in authoring.course_editors(session, colleague, own_course)] == [
        "Colin Colleague"]
