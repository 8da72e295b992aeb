"""The trainers' area: importing a course zip, and serving the files a course ships."""

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn import courses
from jesip_learn.models import Course

FIXTURES = Path(__file__).resolve().parents[1] / "content" / "fixtures"


def zip_folder(folder: Path, top: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top or folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()


@pytest.fixture
def as_trainer(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    return browser


def upload(browser, data: bytes, name="course.zip", **fields):
    token = browser.get("/author/courses/import").csrf_token()
    from tests.support.pages import read_page
    response = browser.client.post(
        "/author/courses/import", content_type="multipart/form-data", follow_redirects=True,
        data={"csrf_token": token, "archive": (io.BytesIO(data), name), **fields})
    return read_page(response)


@pytest.mark.parametrize("permissions", [set(), {"manager"}])
def test_only_trainers_and_administrators_reach_the_trainer_area(browser, make, organisation,
                                                                   permissions):
    browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
    assert browser.get("/author/courses").status == 403
    assert browser.get("/author/courses/import").status == 403


def test_a_trainer_imports_a_zipped_course(as_trainer, session):
    page = upload(as_trainer, zip_folder(FIXTURES / "valid-course"))
    assert page.h1 == "Courses"
    assert "JESIP-AWARE was published as version 1." in page.notifications
    assert "JESIP Awareness" in page.text
    page = upload(as_trainer, zip_folder(FIXTURES / "valid-course"))
    assert "has not changed since version 1" in page.notifications[0]


def test_a_zip_with_mistakes_lists_every_problem_and_imports_nothing(as_trainer, session):
    page = upload(as_trainer, zip_folder(FIXTURES / "planted-mistakes"))
    assert page.errors == ["The course has problems: nothing was imported. Fix them and "
                           "upload it again."]
    listed = [li.get_text(strip=True) for li in page.soup.select(".app-problem-list li")]
    assert len(listed) > 5 and all(line.startswith("planted-mistakes/") for line in listed)
    assert session.scalar(select(func.count()).select_from(Course)) == 0


@pytest.mark.parametrize(("data", "message"), [
    (b"this is not a zip", "not a zip file"),
])
def test_unusable_uploads_get_a_clear_error(as_trainer, data, message):
    page = upload(as_trainer, data)
    assert message in page.errors[0]


def test_uploading_nothing_asks_for_a_file(as_trainer):
    page = as_trainer.submit("/author/courses/import", {})
    assert page.errors == ["Choose a zip file of the course folder"]


def test_course_files_are_served_safely(as_trainer, session):
    upload(as_trainer, zip_folder(FIXTURES / "valid-course"))
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
