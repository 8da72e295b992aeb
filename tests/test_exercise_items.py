"""Live exercise scripts as course items: imported, stored and exported like every other
kind, through the command line too, and never waited for by a learner's completion."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.content import ExerciseScript, parse_course_folder
from jesip_learn.content.serialise import item_to_data
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseItem
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion

FIXTURES = Path(__file__).parent / "content" / "fixtures"
EXAMPLE = FIXTURES / "exercise-example"
PLANTED = FIXTURES / "planted-exercise-mistakes"
SCRIPT = "01-central-station.exercise.md"


def mixed_course(folder: Path) -> Path:
    """A reading module, the content format's exercise script, then another module."""
    folder.mkdir()
    (folder / "course.md").write_text(
        "---\ntitle: Working together live\ncode: LIVE-MIX\nvalidity_months: 12\n---\n\n"
        "Read, then take part in a live exercise.\n")
    (folder / "01-before.md").write_text("---\ntitle: Before the exercise\n---\n\nRead this.\n")
    shutil.copy(EXAMPLE / SCRIPT, folder / "02-central-station.exercise.md")
    (folder / "03-after.md").write_text("---\ntitle: After the exercise\n---\n\nAnd this.\n")
    return folder


@pytest.fixture
def mixed(session, tmp_path):
    courses.import_parsed(session, courses.parse_folders(mixed_course(tmp_path / "mixed")))
    session.commit()
    return courses.find_version(session, "LIVE-MIX")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_an_exercise_script_is_stored_as_an_item_of_kind_exercise(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(EXAMPLE))
    version = courses.find_version(session, outcome.code)
    stored = session.scalar(select(CourseItem).where(CourseItem.version_id == version.id))
    parsed = parse_course_folder(EXAMPLE).course.items[0]
    assert (stored.slug, stored.kind, stored.title, stored.minutes, stored.position) == (
        "central-station", "exercise", "Shots fired at Central Station", 40, 1)
    assert stored.content == item_to_data(parsed)
    assert stored.content["events"][4]["options"][0]["score"] == 2
    script = courses.version_item(version, "central-station")
    assert isinstance(script, ExerciseScript) and script == parsed


def test_a_course_of_only_exercise_scripts_imports_and_exports_byte_for_byte(session, tmp_path):
    outcome, = courses.import_parsed(session, courses.parse_folders(EXAMPLE))
    version = courses.find_version(session, outcome.code)
    assert courses.version_sources(version) == {
        path.relative_to(EXAMPLE).as_posix(): path.read_bytes()
        for path in EXAMPLE.rglob("*") if path.is_file()}
    again, = courses.import_parsed(session, courses.parse_folders(EXAMPLE))
    assert not again.changed


def test_completion_does_not_wait_for_exercise_scripts(session, make, organisation, mixed):
    learner = make.user(organisation=organisation)
    assert [item.slug for item in courses.learner_outline(mixed)] == ["before", "after"]
    assert set(progress.item_states(session, learner, mixed)) == {"before", "after"}
    assert progress.complete_item(session, learner, mixed, "before") is None
    states = progress.item_states(session, learner, mixed)
    assert progress.next_item(mixed, states).slug == "after"  # the exercise is passed over
    completion = progress.complete_item(session, learner, mixed, "after")
    assert completion is not None and completion.version_id == mixed.id
    status = progress.course_status(session, learner, mixed.course)
    assert (status.state, status.items_done, status.items_total) == ("in-date", 2, 2)
    assert progress.next_item(mixed, progress.item_states(session, learner, mixed)) is None


def test_a_course_of_only_exercise_scripts_is_never_completed_alone(session, make, organisation):
    courses.import_parsed(session, courses.parse_folders(EXAMPLE))
    version = courses.find_version(session, "EXERCISE-EXAMPLE")
    learner = make.user(organisation=organisation)
    assert progress.item_states(session, learner, version) == {}
    assert progress.next_item(version, {}) is None
    assert progress.complete_course_if_done(session, learner, version, version.published_at
                                            ) is None
    assert session.scalar(select(Completion)) is None


def test_cli_validates_imports_and_exports_an_exercise_script(runner, session, tmp_path):
    folder = mixed_course(tmp_path / "mixed")
    result = runner.invoke(args=["courses", "validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "1 course valid: LIVE-MIX" in result.output
    result = runner.invoke(args=["courses", "import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "LIVE-MIX: imported as version 1" in result.output
    result = runner.invoke(args=["courses", "export", "LIVE-MIX", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    exported = tmp_path / "out" / "02-central-station.exercise.md"
    assert exported.read_bytes() == (EXAMPLE / SCRIPT).read_bytes()
    result = runner.invoke(args=["courses", "import", str(tmp_path / "out")])
    assert "LIVE-MIX: unchanged at version 1" in result.output


def test_cli_reports_every_mistake_of_a_script_and_imports_nothing(runner, session):
    result = runner.invoke(args=["courses", "validate", str(PLANTED)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == len(parse_course_folder(PLANTED).problems) > 60
    assert ("planted-exercise-mistakes/02-events.exercise.md:24: unknown role or talk group "
            "'police' in to=: the roles are police-control, fire-control, ambulance-control; "
            "the talk group is inter-control") in lines
    result = runner.invoke(args=["courses", "import", str(PLANTED)])
    assert result.exit_code == 1 and "Nothing was imported." in result.output
    assert courses.find_version(session, "EXERCISE-MISTAKES") is None
