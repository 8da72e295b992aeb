"""Course versions in the database: import all or nothing, no-op re-imports, versions that
keep slugs, export that round-trips, and rendered HTML served without running Markdown."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.content import parse_course_folder
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion, FileBlob

FIXTURES = Path(__file__).parent / "content" / "fixtures"
VALID = FIXTURES / "valid-course"
MISTAKES = FIXTURES / "planted-mistakes"


@pytest.fixture
def course_copy(tmp_path):
    target = tmp_path / "valid-course"
    shutil.copytree(VALID, target)
    return target


def import_folder(session, path, **kwargs):
    return courses.import_parsed(session, courses.parse_folders(path), **kwargs)


def test_import_stores_a_version_with_items_files_and_hash(session):
    outcome, = import_folder(session, VALID)
    assert outcome.changed and outcome.version_number == 1
    version = courses.find_version(session, outcome.code)
    parsed = parse_course_folder(VALID)
    assert version.content_hash == parsed.content_hash
    assert [i.slug for i in version.items] == [i.slug for i in parsed.course.items]
    assert courses.version_sources(version) == dict(parsed.sources)
    assert version.course.published_version is version


def test_stored_items_come_back_rendered_without_markdown(session, monkeypatch):
    outcome, = import_folder(session, VALID)
    version = courses.find_version(session, outcome.code)
    import markdown
    monkeypatch.setattr(markdown.Markdown, "convert", lambda *a: pytest.fail("Markdown ran"))
    for stored in version.items:
        item = courses.version_item(version, stored.slug)
        assert item.slug == stored.slug and item.kind == stored.kind


def test_images_point_at_the_stored_copies(session):
    outcome, = import_folder(session, VALID)
    version = courses.find_version(session, outcome.code)
    html = " ".join(str(item.content) for item in version.items)
    assert f"/course-files/{version.content_hash}/images/fcp.png" in html


def test_an_unchanged_import_is_a_no_op(session):
    import_folder(session, VALID)
    again, = import_folder(session, VALID)
    assert not again.changed and again.version_number == 1
    assert session.scalar(select(func.count()).select_from(CourseVersion)) == 1


def test_a_changed_import_makes_a_new_version_sharing_unchanged_files(session, course_copy):
    import_folder(session, VALID)
    blobs = session.scalar(select(func.count()).select_from(FileBlob))
    page = course_copy / "01-why-interoperability.md"
    page.write_text(page.read_text() + "\nA wording fix.\n")
    outcome, = import_folder(session, course_copy, needs_renewal=True)
    assert outcome.changed and outcome.version_number == 2
    version = courses.find_version(session, outcome.code)
    assert version.needs_renewal
    assert courses.find_version(session, outcome.code, 1).needs_renewal is False
    # Only the changed page's bytes are stored again.
    assert session.scalar(select(func.count()).select_from(FileBlob)) == blobs + 1


def test_a_course_with_problems_imports_nothing_and_lists_every_problem(session):
    with pytest.raises(courses.ImportRefused) as refused:
        import_folder(session, MISTAKES)
    assert len(refused.value.problems) == len(parse_course_folder(MISTAKES).problems) > 5
    assert all(":" in line for line in refused.value.problems)
    assert session.scalar(select(func.count()).select_from(Course)) == 0


def test_one_bad_course_in_a_folder_stops_the_good_ones_too(session, tmp_path):
    shutil.copytree(VALID, tmp_path / "a-good-one")
    shutil.copytree(MISTAKES, tmp_path / "b-bad-one")
    with pytest.raises(courses.ImportRefused):
        import_folder(session, tmp_path)
    assert session.scalar(select(func.count()).select_from(Course)) == 0


def test_a_failed_import_leaves_the_published_version_untouched(session, course_copy):
    import_folder(session, VALID)
    (course_copy / "course.md").write_text("---\ntitle: [broken\n---\n")
    with pytest.raises(courses.ImportRefused):
        import_folder(session, course_copy)
    version = courses.find_version(session, "JESIP-AWARE")
    assert version.number == 1 and version.content_hash == parse_course_folder(VALID).content_hash


def test_two_folders_with_one_code_are_refused(session, tmp_path):
    shutil.copytree(VALID, tmp_path / "first")
    shutil.copytree(VALID, tmp_path / "second")
    with pytest.raises(courses.ImportRefused, match="used by more than one course folder"):
        import_folder(session, tmp_path)


def test_an_empty_folder_is_refused(session, tmp_path):
    with pytest.raises(courses.ImportRefused, match="no course found"):
        import_folder(session, tmp_path)


def test_export_then_import_gives_the_same_hash(session, tmp_path):
    outcome, = import_folder(session, VALID)
    version = courses.find_version(session, outcome.code)
    from jesip_learn.content import write_course_folder
    exported = write_course_folder(courses.version_sources(version), tmp_path / "exported")
    assert parse_course_folder(exported).content_hash == version.content_hash
    again, = import_folder(session, exported)
    assert not again.changed
