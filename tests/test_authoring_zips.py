"""Courses as zips (the domain): a version or the draft downloaded, a zip imported as a new
course or as a course's draft with what it changes, a draft changed since it was looked at,
and zips refused with a reason (paths outside the course, file types, encodings, every
problem listed as the command line lists them)."""

import io
import zipfile

import pytest

from jesip_learn.content import content_hash, parse_course_files, parse_course_folder
from jesip_learn.content.archive import read_course_zip
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import working_copy
from tests.support.authoring import VALID, events


def zip_of(files, folder="course"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(f"{folder}/{path}" if folder else path, data)
    return buffer.getvalue()


def folder_files():
    return dict(parse_course_folder(VALID).sources)


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
