"""Courses travel, through the trainers' pages: packages of the published version for other
learning systems (with the warning that the answers are inside), and a Moodle question
bank (GIFT) uploaded into a quiz page of the draft."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.courses import catalogue as courses
from jesip_learn.records.models import AuditEvent
from tests.support.pages import read_page

SHIPPED = Path(__file__).resolve().parents[2] / "courses"
BANK = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "gift" / "every-feature.gift"


@pytest.fixture
def shipped(session):
    courses.import_parsed(session, courses.parse_folders(SHIPPED))
    session.commit()


@pytest.fixture
def as_admin(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"admin"}).email)
    return browser


@pytest.fixture
def as_trainer(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    return browser


def test_the_course_page_says_the_answers_are_inside_before_any_download(as_admin, shipped):
    page = as_admin.get("/author/courses/JESIP-AWARE")
    assert page.status == 200
    section = page.soup.find(id="packages")
    assert section.get_text() == "Packages for other learning systems"
    assert "The quiz’s answers are inside the package, where anyone who knows how can read " \
           "them in their web browser." in page.text
    links = {a.get_text(): a["href"] for a in page.soup.select("a[href*='/package/']")}
    assert links == {
        "Download as SCORM 1.2": "/author/courses/JESIP-AWARE/package/scorm12.zip",
        "Download as SCORM 2004 (4th edition)": "/author/courses/JESIP-AWARE/package/scorm2004.zip",
        "Download as cmi5": "/author/courses/JESIP-AWARE/package/cmi5.zip"}


@pytest.mark.parametrize(("package_format", "manifest"), [
    ("scorm12", "imsmanifest.xml"), ("scorm2004", "imsmanifest.xml"), ("cmi5", "cmi5.xml")])
def test_a_package_downloads_and_is_audited(as_admin, shipped, session, package_format,
                                            manifest):
    response = as_admin.client.get(f"/author/courses/JESIP-CR/package/{package_format}.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=JESIP-CR-v1-{package_format}.zip")
    assert response.headers["Cache-Control"] == "private, no-store"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert {"index.html", manifest} <= set(archive.namelist())
        if package_format == "cmi5":
            # The site's own address names the course, as its xAPI statements do.
            assert 'id="http://jesip.test/learn/JESIP-CR"' in archive.read(manifest).decode()
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "course.packaged")
                            ).one()
    assert event.details == {"code": "JESIP-CR", "version": 1, "format": package_format}


def test_packages_are_only_for_those_who_edit_the_course(browser, as_trainer, shipped, make,
                                                         organisation):
    assert as_trainer.get("/author/courses/JESIP-AWARE/package/scorm12.zip").status == 403
    as_trainer.sign_out()
    browser.sign_in(make.user(organisation=organisation).email)
    assert browser.get("/author/courses/JESIP-AWARE/package/scorm12.zip").status == 403


def test_an_unknown_format_or_course_is_not_found(as_admin, shipped):
    assert as_admin.get("/author/courses/JESIP-AWARE/package/aicc.zip").status == 404
    assert as_admin.get("/author/courses/NO-SUCH/package/scorm12.zip").status == 404


# --- a Moodle question bank into a quiz page ------------------------------------------------

DRAFT = "/author/courses/FLOOD-1/draft"
QUIZ = "02-check-what-you-know.quiz.md"


@pytest.fixture
def quiz_page(as_trainer):
    as_trainer.submit("/author/new", {"title": "Flood response", "code": "FLOOD-1",
                                      "summary": "Working together when water rises."})
    as_trainer.submit(f"{DRAFT}/items", {"kind": "quiz", "title": "Check what you know"},
                      form_url=DRAFT)
    return f"{DRAFT}/pages/{QUIZ}"


def send_bank(browser, page_url: str, data: bytes | None, name="bank.gift", **fields):
    token = browser.get(page_url).csrf_token()
    files = {"bank": (io.BytesIO(data), name)} if data is not None else {}
    return read_page(browser.client.post(f"{page_url}/gift", content_type="multipart/form-data",
                                         data={"csrf_token": token, **files, **fields}))


def test_the_quiz_page_takes_a_moodle_bank_and_lists_every_skip(as_trainer, quiz_page):
    edit = as_trainer.get(quiz_page)
    form = edit.soup.find("form", action=f"{quiz_page}/gift")
    assert form is not None and form.find("input", attrs={"type": "file", "name": "bank"})
    page = send_bank(as_trainer, quiz_page, BANK.read_bytes())
    assert page.status == 200
    assert page.h1 == "10 questions added"
    assert "JESIP/Principles: 10 questions" in page.text
    rows = [[cell.get_text(strip=True) for cell in row.find_all("td")]
            for row in page.soup.select("tbody tr")]
    assert len(rows) == 12
    assert rows[0] == ["46", "Numerical", "A numerical question: our quizzes have no number "
                                          "answers"]
    assert rows[-1][:2] == ["72", "Repeated answers"]
    text = as_trainer.get(quiz_page).soup.find("textarea", attrs={"name": "text"}).get_text()
    assert "## Which principle should commanders apply first on arrival? {#co-locate-first}" \
        in text
    assert "- [x] Gather information and intelligence" in text


def test_a_category_chooses_the_questions(as_trainer, quiz_page):
    page = send_bank(as_trainer, quiz_page, BANK.read_bytes(), category="Nowhere")
    assert page.status == 400
    assert page.errors == ["No question in the category Nowhere in the GIFT file can be "
                           "added: all 12 were skipped."]


@pytest.mark.parametrize(("data", "name", "error"), [
    (None, "bank.gift", "Choose a GIFT file exported from Moodle"),
    (b"::Essay:: Say.{}\n", "bank.gift", "No question in the GIFT file can be added: all 1 "
                                         "were skipped."),
    ("Qu\xe9?{=a ~b}".encode("latin-1"), "bank.txt", "The GIFT file is not UTF-8 text: "
     "export it from Moodle again, or save it as UTF-8."),
])
def test_a_bad_bank_is_refused_with_an_error_and_nothing_changes(as_trainer, quiz_page, data,
                                                                 name, error):
    before = as_trainer.get(quiz_page).soup.find("textarea", attrs={"name": "text"}).get_text()
    page = send_bank(as_trainer, quiz_page, data, name=name)
    assert page.status == 400
    assert page.errors == [error]
    assert page.error_links() == {error: "bank"}
    after = as_trainer.get(quiz_page).soup.find("textarea", attrs={"name": "text"}).get_text()
    assert after == before


def test_a_bank_goes_into_quiz_pages_only_and_only_for_the_courses_editors(
        browser, as_trainer, quiz_page, make, organisation):
    module = f"{DRAFT}/pages/01-introduction.md"
    page = send_bank(as_trainer, module, BANK.read_bytes())
    assert page.status == 400
    assert page.errors == ["Questions from a GIFT file can only go into a quiz page."]
    as_trainer.sign_out()
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    assert browser.get(f"{quiz_page}/gift").status == 403
    assert browser.client.post(f"{quiz_page}/gift").status_code in (400, 403)
