"""Publishing a draft (the domain): the version learners see, needs renewal, the audit's
before and after, a draft with problems or one older than the published version; discarding
the draft; each version's history, the differences between two versions line by line, and
restoring an old version."""

import pytest
from sqlalchemy import func, select

from jesip_learn.content import content_hash
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import diffs, working_copy
from jesip_learn.courses.models import CourseVersion
from tests.support.authoring import PNG, VALID, events, save, text_of

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


# --- differences line by line (pure) ---------------------------------------------------------


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
