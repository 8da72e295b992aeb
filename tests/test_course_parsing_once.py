"""An import renders each page once: the parse that validates a course is the one stored.

Before, the command-line import and publishing parsed the course to check it, then again
inside the import's transaction with the stored files' addresses, and a zip upload parsed
it twice more after writing it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import checking

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"


@pytest.fixture
def trainer(make, organisation):
    return make.user(organisation=organisation, permissions={"trainer"})


@pytest.fixture
def parses(monkeypatch):
    """The parses the authoring package asks for; any parse inside the import fails."""
    calls = []
    real = checking.parse_within

    def counting(*args, **kwargs):
        calls.append(kwargs.get("resolve_file"))
        return real(*args, **kwargs)

    def parse_again(*_args, **_kwargs):
        pytest.fail("the import parsed the course again")

    monkeypatch.setattr(checking, "parse_within", counting)
    monkeypatch.setattr(courses, "parse_course_files", parse_again)
    return calls


def zip_of_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()


def test_the_command_line_import_stores_the_html_its_validation_made(session, parses):
    parsed = courses.parse_folders(VALID)
    (outcome,) = courses.import_parsed(session, parsed)
    version = courses.find_version(session, outcome.code)
    module = courses.version_item(version, "why-interoperability")
    assert f'src="/course-files/{version.content_hash}/images/fcp.png"' in module.html


def test_publishing_parses_the_draft_once(session, trainer, parses):
    course = authoring.create_course(session, trainer, title="Flood response", code="FLOOD-1")
    outcome = authoring.publish_draft(session, trainer, course, needs_renewal=False)
    assert outcome.changed and outcome.version_number == 1
    assert parses == [courses.VERSION_FILE_URLS]


def test_a_zip_upload_parses_the_course_once(session, trainer, parses):
    result = authoring.import_zip_as_new_course(session, trainer, zip_of_folder(VALID))
    assert result.course.code == "JESIP-AWARE" and result.problems == ()
    assert len(parses) == 1


def test_a_saved_page_is_checked_once_before_it_is_written(session, trainer, parses):
    course = authoring.create_course(session, trainer, title="Flood response", code="FLOOD-1")
    page = authoring.page_text(session, trainer, course, "01-introduction.md")
    change = authoring.save_page(session, trainer, course, page.path,
                                 page.text.replace("title: Introduction", "title: Start"),
                                 base_sha256=page.sha256)
    assert change.changed and change.problems == ()
    assert len(parses) == 1


def test_changes_other_than_saves_do_not_parse_unless_asked(session, trainer, parses):
    course = authoring.create_course(session, trainer, title="Flood response", code="FLOOD-1")
    change = authoring.add_item(session, trainer, course, kind="quiz", title="Check")
    assert parses == []
    assert change.problems == ()  # asked for: the draft as the change left it
    assert len(parses) == 1
