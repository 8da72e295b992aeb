"""A course's draft in the browser (the domain): a new course and the draft it starts as, the
first change copying the published files, pages saved with their problems at their lines,
conflicts between editors, previews of saved and unsaved text, the audit log of edits, and
the package loading without Flask."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from jesip_learn.content import Quiz, Scenario
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import working_copy
from jesip_learn.courses.models import CourseDraft, DraftFile, FileBlob
from jesip_learn.records.models import AuditEvent
from tests.support.authoring import PNG, events, item_paths, save, text_of

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


# --- the package ---------------------------------------------------------------------------


def test_the_authoring_package_imports_without_flask():
    code = ("import sys, jesip_learn.courses.authoring\n"
            "print([m for m in ('flask', 'flask_login', 'flask_wtf') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
