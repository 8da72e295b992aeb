"""The trainers' area: their list of courses, importing a course zip as a new course, and
serving the files a course ships."""

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course
from tests.support.pages import read_page

FIXTURES = Path(__file__).resolve().parents[1] / "content" / "fixtures"


def zip_folder(folder: Path, top: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top or folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()


def hostile_zip() -> bytes:
    """A course folder that also carries a script."""
    buffer = io.BytesIO(zip_folder(FIXTURES / "valid-course"))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("valid-course/images/run.js", "alert(1)")
    return buffer.getvalue()


@pytest.fixture
def as_trainer(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    return browser


def upload(browser, data: bytes, name="course.zip", **fields):
    """Upload a zip as a new course: the refusal, or the course page after the import (its
    flash shown there, whichever page the import sent the trainer to)."""
    token = browser.get("/author/courses/import").csrf_token()
    response = browser.client.post(
        "/author/courses/import", content_type="multipart/form-data",
        data={"csrf_token": token, "archive": (io.BytesIO(data), name), **fields})
    if response.status_code != 302:
        return read_page(response)
    code = response.headers["Location"].split("/author/courses/", 1)[1].split("/")[0]
    return browser.get(f"/author/courses/{code}")


@pytest.mark.parametrize("permissions", [set(), {"manager"}])
def test_only_trainers_and_administrators_reach_the_trainer_area(browser, make, organisation,
                                                                   permissions):
    browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
    assert browser.get("/author/courses").status == 403
    assert browser.get("/author/courses/import").status == 403


def test_a_trainer_imports_a_zipped_course_as_a_draft_they_own(as_trainer, session):
    page = upload(as_trainer, zip_folder(FIXTURES / "valid-course"))
    # Nothing reaches learners until it is published: the zip becomes the new course's draft.
    assert page.notifications == ["JESIP-AWARE was imported as a draft: learners will not see "
                                  "it until it is published. It can be published when you "
                                  "are ready. See its 2 warnings about how questions or "
                                  "choices are written."]
    assert courses.find_version(session, "JESIP-AWARE") is None
    assert "Not yet" in page.text
    listed = as_trainer.get("/author/courses")
    row = next(tr for tr in listed.soup.select("tbody tr") if "JESIP-AWARE" in tr.get_text())
    assert "Owner" in row.get_text() and "Not published" in row.get_text()
    page = upload(as_trainer, zip_folder(FIXTURES / "valid-course"))
    assert page.errors == ["There is already a course with the code JESIP-AWARE: upload the "
                           "zip as a new draft of that course instead."]


def test_the_trainers_list_holds_only_their_courses(browser, make, organisation, session):
    mine, theirs = (make.user(organisation=organisation, permissions={"trainer"})
                    for _ in range(2))
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser.sign_in(mine.email)
    upload(browser, zip_folder(FIXTURES / "valid-course"))
    browser.sign_out()
    browser.sign_in(theirs.email)
    page = browser.get("/author/courses")
    assert page.h1 == "Your courses" and "JESIP-AWARE" not in page.text
    assert browser.get("/author/courses/JESIP-AWARE").status == 403
    browser.sign_out()
    browser.sign_in(admin.email)
    row = next(tr for tr in browser.get("/author/courses").soup.select("tbody tr"))
    assert "JESIP-AWARE" in row.get_text() and "Administrator" in row.get_text()


def listed_problems(page) -> dict[str, list[str]]:
    """The problems a page lists under #zip-problems or #problems: file -> its lines."""
    groups = page.soup.select_one(".app-problem-groups")
    found: dict[str, list[str]] = {}
    for heading in groups.select("h3"):
        items = heading.find_next_sibling("ul").select("li")
        found[heading.get_text(strip=True)] = [
            " ".join(li.get_text(" ", strip=True).split()) for li in items]
    return found


@pytest.mark.parametrize(("data", "message"), [
    (b"this is not a zip", "not a zip file"),
    (hostile_zip(), "The zip can’t be imported: images/run.js: files of this type are not "
                    "allowed in a course"),
])
def test_unusable_uploads_get_a_clear_error(as_trainer, session, data, message):
    page = upload(as_trainer, data)
    assert message in page.errors[0]
    assert session.scalar(select(func.count()).select_from(Course)) == 0


def test_a_zip_with_many_mistakes_shows_every_one_by_file(as_trainer, session):
    """The folder `courses validate` finds 37 problems in (and an image that is not what its
    name says): the browser lists all of them, grouped by file, with their lines."""
    page = upload(as_trainer, zip_folder(FIXTURES / "planted-mistakes"))
    assert page.status == 200
    assert page.errors == ["The zip can’t be imported: it has 38 problems, listed below by "
                           "file. Fix them and upload the zip again."]
    assert page.soup.select_one("#zip-problems").get_text() == "Problems in the zip (38)"
    listed = listed_problems(page)
    assert list(listed)[0] == "course.md"
    assert listed["course.md"][0] == ("Line 1: missing code: add 'code: ...' to the front "
                                      "matter")
    assert sum(len(lines) for lines in listed.values()) == 38
    assert "Line 1: files of this type are not allowed in a course: only Markdown pages and " \
        "png, jpg, jpeg, gif, webp, svg, pdf files" in listed["images/notes.docx"]
    assert any(line.startswith("Line 57: step 'orphan' can't be reached") and
               "perhaps the broken link on line 21 was meant for it" in line
               for line in listed["06-flooding.scenario.md"])
    assert page.soup.select(".app-problem-groups a") == []  # nothing was saved to edit
    assert session.scalar(select(func.count()).select_from(Course)) == 0


def test_uploading_nothing_asks_for_a_file(as_trainer):
    page = as_trainer.submit("/author/courses/import", {})
    assert page.errors == ["Choose a zip file of the course folder"]


def test_course_files_are_served_safely(as_trainer, session):
    courses.import_parsed(session, courses.parse_folders(FIXTURES / "valid-course"))
    session.commit()
    version = courses.find_version(session, "JESIP-AWARE")
    base = f"/course-files/{version.content_hash}"
    png = as_trainer.client.get(f"{base}/images/fcp.png")
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.headers["X-Content-Type-Options"] == "nosniff"
    assert png.headers["Content-Disposition"].startswith("inline")
    svg = as_trainer.client.get(f"{base}/images/jdm.svg")
    assert svg.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in svg.headers["Content-Security-Policy"]
    assert as_trainer.client.get(f"{base}/course.md").status_code == 404
    assert as_trainer.client.get(f"{base}/images/missing.png").status_code == 404
    assert as_trainer.client.get("/course-files/nothash/images/fcp.png").status_code == 404


def test_course_files_need_a_signed_in_user(client):
    assert client.get("/course-files/abc/images/fcp.png").status_code == 302


def test_the_only_owner_is_told_to_name_another_before_leaving(browser, make, organisation):
    trainer = make.user(organisation=organisation, permissions={"trainer"})
    browser.sign_in(trainer.email)
    browser.submit("/author/new", {"title": "Flood response", "code": "FLOOD-1",
                                   "summary": "Working together when water rises."})
    page = browser.submit("/author/courses/FLOOD-1/editors/remove",
                          {"user_id": str(trainer.id)},
                          form_url="/author/courses/FLOOD-1/editors")
    assert page.notifications == [f"{trainer.name} is the only owner of FLOOD-1. Make "
                                  "someone else an owner first."]
    assert "Owner" in page.text
