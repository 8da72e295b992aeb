"""Who may edit a course in the browser: its owner, the editors an owner names, administrators,
and no one who has lost the trainer permission; the last owner stays; the trainers' list of
courses and who completed each."""

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import PermissionGrant
from jesip_learn.core.columns import utcnow
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning.models import Completion
from tests.support.authoring import events, save


@pytest.fixture
def learner(make, organisation):
    return make.user(organisation=organisation, name="Lee Learner")


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


def test_the_last_owner_cannot_be_removed(session, own_course, trainer, colleague):
    with pytest.raises(authoring.NotAllowed, match="only owner"):
        authoring.remove_editor(session, trainer, own_course, trainer)
    authoring.add_editor(session, trainer, own_course, colleague, authoring.OWNER)
    authoring.remove_editor(session, colleague, own_course, trainer)
    assert [r.name for r in authoring.course_editors(session, colleague, own_course)] == [
        "Colin Colleague"]


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
