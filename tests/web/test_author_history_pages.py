"""A course's history, the differences between two versions, restoring one, zip downloads
and uploads of a draft, and who edits a course."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseEditor
from tests.support.pages import read_page

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def two_versions(session, tmp_path):
    """JESIP-AWARE as imported, then a copy with one line of a page changed."""
    courses.import_parsed(session, courses.parse_folders(VALID))
    changed = tmp_path / "valid-course"
    shutil.copytree(VALID, changed)
    page = changed / "01-why-interoperability.md"
    page.write_text(page.read_text() + "\nA new closing line.\n")
    courses.import_parsed(session, courses.parse_folders(changed))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


@pytest.fixture
def owner(make, organisation, session, two_versions):
    user = make.user(organisation=organisation, permissions={"trainer"}, name="Olive Owner")
    session.add(CourseEditor(course_id=two_versions.course_id, user_id=user.id, role="owner"))
    session.commit()
    return user


@pytest.fixture
def as_owner(browser, owner):
    browser.sign_in(owner.email)
    return browser


def test_history_lists_every_version_and_links_to_a_comparison(as_owner):
    page = as_owner.get("/author/courses/JESIP-AWARE/history")
    assert page.status == 200 and page.h1 == "History"
    numbers = [th.get_text(" ", strip=True) for th in page.soup.select("tbody th")]
    assert numbers == ["2 Published", "1"]
    assert page.soup.select_one("form[method=get]")["action"].endswith(
        "/author/courses/JESIP-AWARE/diff")
    assert page.soup.select_one("select#old option[selected]")["value"] == "1"


def test_the_difference_names_removed_and_added_lines_in_words(as_owner):
    page = as_owner.get("/author/courses/JESIP-AWARE/diff?old=1&new=2")
    assert page.h1 == "Changes from version 1 to version 2"
    assert "01-why-interoperability.md : changed" in page.text
    added = page.soup.select("tr.app-diff__added")
    assert len(added) >= 1 and "A new closing line." in added[-1].get_text()
    assert "added:" in added[-1].select_one(".govuk-visually-hidden").get_text()
    assert added[-1].select_one("[aria-hidden=true]").get_text() == "+"
    assert any("unchanged lines" in row.get_text()
               for row in page.soup.select("tr.app-diff__skipped"))


@pytest.mark.parametrize(("query", "message"), [
    ("", "Choose two versions to compare"),
    ("?old=one&new=2", "Choose two versions to compare"),
    ("?old=1&new=1", "Choose two different versions to compare"),
    ("?old=1&new=9", "JESIP-AWARE has no version 9."),
])
def test_bad_comparisons_explain_themselves(as_owner, query, message):
    page = as_owner.get(f"/author/courses/JESIP-AWARE/diff{query}")
    assert page.status == 200 and page.errors == [message]
    page.error_links()


def test_restoring_a_version_publishes_it_again(as_owner, session):
    url = "/author/courses/JESIP-AWARE/versions/1/restore"
    page = as_owner.submit(url, {"note": "Back to the first text"})
    assert page.errors == ["Select whether everyone must complete the course again"]
    page = as_owner.submit(url, {"needs_renewal": "no", "note": "Back to the first text"})
    assert page.notifications == ["Version 1 was published again as version 3."]
    session.expire_all()
    version = courses.find_version(session, "JESIP-AWARE")
    assert version.number == 3 and version.source == "restore" and not version.needs_renewal
    assert "Back to the first text" in page.text
    assert as_owner.get("/author/courses/JESIP-AWARE/versions/9/restore").status == 404


def test_a_form_without_its_csrf_token_is_refused(as_owner, session):
    response = as_owner.client.post("/author/courses/JESIP-AWARE/versions/1/restore",
                                    data={"needs_renewal": "no"})
    assert response.status_code == 400
    assert courses.find_version(session, "JESIP-AWARE").number == 2


def _post_zip(browser, data: bytes, revision=None):
    url = "/author/courses/JESIP-AWARE/import"
    form = browser.get(url)
    field = form.soup.find("input", attrs={"name": "revision"})
    return read_page(browser.client.post(url, content_type="multipart/form-data", data={
        "csrf_token": form.csrf_token(), "archive": (io.BytesIO(data), "course.zip"),
        "revision": field["value"] if revision is None else revision}))


def test_a_downloaded_version_uploads_as_a_draft_with_no_changes(as_owner):
    response = as_owner.client.get("/author/courses/JESIP-AWARE/versions/2.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment")
    page = _post_zip(as_owner, response.data)
    assert page.h1 == "The zip is now the draft"
    assert "There are no changes" in page.text and "No problems were found" in page.text
    draft = as_owner.client.get("/author/courses/JESIP-AWARE/draft.zip")
    assert draft.headers["Content-Disposition"].startswith("attachment")
    assert zipfile.ZipFile(io.BytesIO(draft.data)).namelist() == zipfile.ZipFile(
        io.BytesIO(response.data)).namelist()


def test_an_older_version_uploaded_as_the_draft_lists_what_changed(as_owner):
    old = as_owner.client.get("/author/courses/JESIP-AWARE/versions/1.zip").data
    page = _post_zip(as_owner, old)
    assert "01-why-interoperability.md : changed" in page.text
    assert any("A new closing line." in row.get_text()
               for row in page.soup.select("tr.app-diff__removed"))


def test_a_draft_upload_with_problems_links_each_to_its_line_in_the_editor(as_owner):
    buffer = io.BytesIO(as_owner.client.get("/author/courses/JESIP-AWARE/versions/2.zip").data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("valid-course/03-broken.md", "---\ntitle: Broken\n---\n\n"
                                                      "![A map](images/mapp.png)\n")
    page = _post_zip(as_owner, buffer.getvalue())
    assert page.h1 == "The zip is now the draft"
    assert page.soup.select_one(".app-problem-groups h3").get_text(strip=True) == "03-broken.md"
    link = page.soup.select_one(".app-problem-groups li a")
    assert link["href"] == ("/author/courses/JESIP-AWARE/draft/pages/03-broken.md?line=5"
                            "#line-problem")
    assert link.parent.get_text(" ", strip=True).startswith(
        "Line 5 of 03-broken.md : image not found: images/mapp.png")


def test_hostile_or_stale_draft_uploads_are_refused_with_a_reason(as_owner):
    buffer = io.BytesIO(as_owner.client.get("/author/courses/JESIP-AWARE/versions/2.zip").data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("valid-course/images/run.js", "alert(1)")
    page = _post_zip(as_owner, buffer.getvalue())
    assert page.errors[0].startswith("The zip can’t be imported: images/run.js: files of "
                                     "this type are not allowed in a course")
    page.error_links()
    good = as_owner.client.get("/author/courses/JESIP-AWARE/versions/2.zip").data
    page = _post_zip(as_owner, good, revision="99")
    assert "after you looked at it: nothing was replaced" in page.errors[0]


def test_an_owner_adds_and_removes_an_editor(as_owner, make, organisation, session):
    colleague = make.user(organisation=organisation, permissions={"trainer"}, name="Cal Editor")
    learner = make.user(organisation=organisation, name="Lee Learner")
    url = "/author/courses/JESIP-AWARE/editors"
    page = as_owner.submit(url, {"email": learner.email, "role": "editor"})
    assert "Lee Learner is not a trainer" in page.errors[0]
    page = as_owner.submit(url, {"email": "nobody@example.org", "role": "editor"})
    assert page.errors == ["There is no account with that email address"]
    page = as_owner.submit(url, {"email": colleague.email, "role": "editor"})
    assert page.notifications == ["Cal Editor can now edit JESIP-AWARE as an editor."]
    rows = [tr.get_text(" ", strip=True) for tr in page.soup.select("tbody tr")]
    assert any("Cal Editor" in row and "Editor" in row for row in rows)
    page = as_owner.submit(f"{url}/remove", {"user_id": colleague.id}, form_url=url)
    assert page.notifications == ["Cal Editor no longer edits JESIP-AWARE."]
    assert "Cal Editor" not in page.soup.select_one("table").get_text()


def test_editors_who_are_not_owners_see_the_list_read_only(browser, make, organisation,
                                                         session, owner, two_versions):
    editor = make.user(organisation=organisation, permissions={"trainer"})
    session.add(CourseEditor(course_id=two_versions.course_id, user_id=editor.id,
                             role="editor"))
    session.commit()
    browser.sign_in(editor.email)
    url = "/author/courses/JESIP-AWARE/editors"
    page = browser.get(url)
    assert "Olive Owner" in page.text
    assert "Remove" not in page.text and "Add an editor" not in page.text
    response = browser.submit(url, {"email": editor.email, "role": "owner"},
                              follow_redirects=False, form_url="/account")
    assert response.status_code == 403
    response = browser.submit(f"{url}/remove", {"user_id": owner.id},
                              follow_redirects=False, form_url="/account")
    assert response.status_code == 403


def test_others_are_refused_and_unknown_courses_are_not_found(browser, make, organisation,
                                                             two_versions):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    for path in ("history", "diff?old=1&new=2", "editors", "import", "versions/1.zip",
                 "draft.zip", "versions/1/restore"):
        assert browser.client.get(f"/author/courses/JESIP-AWARE/{path}").status_code == 403
    assert browser.get("/author/courses/NOPE/history").status == 404
    browser.sign_out()
    browser.sign_in(make.user(organisation=organisation).email)
    assert browser.get("/author/courses/JESIP-AWARE/editors").status == 403
