"""Authoring in the browser: a trainer's draft, its pages and files, and publishing."""

import io
import zipfile

import pytest
from sqlalchemy import select

from jesip_learn.courses.models import Course, CourseVersion
from tests.support.pages import read_page
from tests.support.web import Browser

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def trainer(make, organisation):
    return make.user(organisation=organisation, permissions={"trainer"}, name="Tess Trainer")


@pytest.fixture
def as_trainer(browser, trainer):
    browser.sign_in(trainer.email)
    return browser


def create(browser, code="FLOOD-1", title="Flood response"):
    return browser.submit("/author/new", {"title": title, "code": code,
                                          "summary": "Working together when water rises."})


def draft_url(code="FLOOD-1"):
    return f"/author/courses/{code}/draft"


def add(browser, kind, title, code="FLOOD-1"):
    return browser.submit(f"{draft_url(code)}/items", {"kind": kind, "title": title},
                          form_url=draft_url(code))


def item_paths(page):
    return [a["href"].rsplit("/pages/", 1)[1]
            for a in page.soup.select(".app-draft-items td:first-child a")]


def test_a_trainer_creates_a_course_and_adds_a_module_a_quiz_and_a_scenario(as_trainer):
    page = create(as_trainer)
    assert page.h1 == "Flood response"
    assert "FLOOD-1 was created." in page.notifications[0]
    page = add(as_trainer, "quiz", "Check what you know")
    assert page.h1.startswith("Edit 02-check-what-you-know.quiz.md")
    assert "Right answer" in page.text  # the author's preview shows the answers
    page = add(as_trainer, "scenario", "Rising water")
    assert page.soup.select_one(".app-scenario-map") is not None
    page = as_trainer.get(draft_url())
    assert item_paths(page) == ["01-introduction.md", "02-check-what-you-know.quiz.md",
                                "03-rising-water.scenario.md"]
    assert "None: the draft can be published." in page.text


def test_a_code_typed_in_small_letters_is_made_capitals_as_the_hint_says(as_trainer, session):
    page = create(as_trainer, code="flood-kent")
    assert "FLOOD-KENT was created." in page.notifications[0]
    assert "letters are made capitals" in as_trainer.get("/author/new").text
    assert create(as_trainer, code="Flood-Kent", title="Again").errors == [
        "There is already a course with the code FLOOD-KENT: choose another."]


def test_creating_a_course_with_a_taken_code_keeps_what_was_typed(as_trainer):
    create(as_trainer)
    page = create(as_trainer, title="Another")
    assert page.errors and "already a course with the code FLOOD-1" in page.errors[0]
    assert page.soup.find("input", attrs={"name": "title"})["value"] == "Another"


def test_a_page_with_a_mistake_is_saved_and_its_problem_shown_at_its_line(as_trainer):
    create(as_trainer)
    add(as_trainer, "quiz", "Check")
    path = "02-check.quiz.md"
    url = f"{draft_url()}/pages/{path}"
    text = "---\ntitle: Check\npass_mark: 180\n---\n\n## Who?\n\n- [x] Us\n- [ ] Them\n"
    page = as_trainer.submit(url, {"text": text, "action": "save",
                                   "base_sha256": as_trainer.get(url).soup.find(
                                       "input", attrs={"name": "base_sha256"})["value"]})
    assert "1 problem to fix" in page.notifications[0]
    # Saved, but not ready: not a "Success" banner.
    assert page.soup.select_one(".govuk-notification-banner__title").get_text(
        strip=True) == "Important"
    assert page.soup.find("textarea", attrs={"name": "text"}).get_text() .startswith(
        "---\ntitle: Check\npass_mark: 180")
    problems = [li.get_text(" ", strip=True) for li in page.soup.select("#problems ~ ul li")]
    assert any(p.startswith("Line 3") and "pass_mark" in p for p in problems), problems
    draft = as_trainer.get(draft_url())
    assert "Line 3" in draft.text and "1 problem." in draft.text
    publish = as_trainer.submit(f"{draft_url()}/publish", {"needs_renewal": "no"})
    assert publish.errors and "nothing was published" in publish.errors[0]


def test_the_editor_page_alone_allows_styles_with_its_own_nonce(as_trainer):
    from jesip_learn.web.edge import CONTENT_SECURITY_POLICY
    create(as_trainer)
    url = f"{draft_url()}/pages/01-introduction.md"
    nonces = []
    for _ in range(2):
        response = as_trainer.client.get(url)
        assert response.status_code == 200
        page = read_page(response)
        nonce = page.soup.select_one(".app-editor-form")["data-style-nonce"]
        assert len(nonce) >= 20
        assert response.headers["Content-Security-Policy"] == (
            f"{CONTENT_SECURITY_POLICY}; style-src 'self' 'nonce-{nonce}'")
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # a new one for each response
    draft = as_trainer.client.get(draft_url())
    assert draft.status_code == 200
    assert draft.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "nonce" not in draft.get_data(as_text=True)


def test_a_problem_links_to_its_line_in_the_editor(as_trainer):
    create(as_trainer)
    add(as_trainer, "scenario", "Rising water")
    path = "02-rising-water.scenario.md"
    url = f"{draft_url()}/pages/{path}"
    text = ("---\ntitle: Rising water\nstart: a\n---\n\n## A {#a}\n\n- [On time](#win)\n"
            "- [Too late](#lat)\n\n## Win {#win .end result=pass}\n\n"
            "## Late {#late .end result=fail}\n")
    as_trainer.submit(url, {"text": text, "action": "save", "base_sha256": as_trainer.get(
        url).soup.find("input", attrs={"name": "base_sha256"})["value"]})
    draft = as_trainer.get(draft_url())
    assert draft.status == 200
    links = {a.get_text(" ", strip=True): a["href"]
             for a in draft.soup.select(".app-problem-groups li a")}
    assert links == {f"Line 9 of {path}": f"{url}?line=9#line-problem",
                     f"Line 13 of {path}": f"{url}?line=13#line-problem"}
    page = as_trainer.get(links[f"Line 13 of {path}"])
    assert page.status == 200
    focus = page.soup.select_one("#line-problem")
    assert focus.h2.get_text(strip=True) == "Line 13"
    assert [li.get_text(strip=True) for li in focus.select("li")] == [
        "ending 'late' can't be reached from the start step 'a' because the link on line 9 "
        "is broken (it goes to #lat, not #late)"]
    assert focus.select_one(".app-line-text").get_text() == "## Late {#late .end result=fail}"
    assert page.soup.select_one(".app-editor-form")["data-line"] == "13"
    assert as_trainer.get(f"{url}?line=400").soup.select_one("#line-problem") is None
    fixed = as_trainer.get(f"{url}?line=1")
    assert "No problem is left on this line." in fixed.soup.select_one("#line-problem").text


def test_two_trainers_saving_the_same_page_see_a_conflict_and_keep_their_text(
        as_trainer, app, make, organisation, session):
    create(as_trainer)
    course = session.scalar(select(Course).where(Course.code == "FLOOD-1"))
    other = make.user(organisation=organisation, permissions={"admin"}, name="Ada Admin")
    second = Browser(app.test_client())
    second.sign_in(other.email)
    url = f"{draft_url()}/pages/01-introduction.md"
    mine, theirs = as_trainer.get(url), second.get(url)
    sha = mine.soup.find("input", attrs={"name": "base_sha256"})["value"]
    assert course is not None
    saved = second.submit(url, {"text": "---\ntitle: Introduction\n---\n\nTheirs.\n",
                                "base_sha256": theirs.soup.find(
                                    "input", attrs={"name": "base_sha256"})["value"]})
    assert "Your changes were saved." in saved.notifications[0]
    mine_text = "---\ntitle: Introduction\n---\n\nMine.\n"
    page = read_page(as_trainer.client.post(url, data={
        "text": mine_text, "base_sha256": sha, "csrf_token": mine.csrf_token()}))
    assert page.errors and "Ada Admin changed 01-introduction.md" in page.errors[0]
    assert page.soup.find("textarea", attrs={"name": "text"}).get_text() == mine_text
    assert "Theirs." in page.soup.select_one("#their-version pre").get_text()
    current = page.soup.find("input", attrs={"name": "base_sha256"})["value"]
    assert current != sha
    assert "Theirs." in as_trainer.get(url).soup.find("textarea").get_text()
    page = read_page(as_trainer.client.post(url, follow_redirects=True, data={
        "text": mine_text, "base_sha256": current, "csrf_token": mine.csrf_token()}))
    assert "Your changes were saved." in page.notifications[0]
    assert "Mine." in page.soup.find("textarea").get_text()


def test_items_are_moved_renamed_and_deleted(as_trainer):
    create(as_trainer)
    add(as_trainer, "quiz", "Check")
    page = as_trainer.submit(f"{draft_url()}/pages/02-check.quiz.md/move",
                             {"direction": "up"}, form_url=draft_url())
    assert item_paths(page)[0].endswith("check.quiz.md")
    first = item_paths(page)[0]
    page = as_trainer.get(f"{draft_url()}/pages/{first}/rename")
    assert page.h1 == "Rename Check"
    page = as_trainer.submit(f"{draft_url()}/pages/{first}/rename",
                             {"title": "Test yourself", "slug": "test-yourself",
                              "base_sha256": page.soup.find(
                                  "input", attrs={"name": "base_sha256"})["value"]})
    renamed = item_paths(page)[0]
    assert renamed.endswith("-test-yourself.quiz.md") and "Test yourself" in page.text
    page = as_trainer.get(f"{draft_url()}/pages/{renamed}/delete")
    assert page.h1 == "Are you sure you want to delete Test yourself?"
    page = as_trainer.submit(f"{draft_url()}/pages/{renamed}/delete", {
        "base_sha256": page.soup.find("input", attrs={"name": "base_sha256"})["value"]})
    assert item_paths(page) == ["02-introduction.md"] or item_paths(page) == [
        "01-introduction.md"]
    assert f"{renamed} was deleted from the draft." in page.notifications


def upload(browser, name, data, code="FLOOD-1"):
    token = browser.get(draft_url(code)).csrf_token()
    return read_page(browser.client.post(
        f"{draft_url(code)}/files", content_type="multipart/form-data", follow_redirects=True,
        data={"csrf_token": token, "file": (io.BytesIO(data), name)}))


def test_an_image_is_uploaded_served_safely_and_deleted_and_a_hostile_one_refused(as_trainer):
    create(as_trainer)
    page = upload(as_trainer, "Flood map.png", PNG)
    assert any("images/flood-map.png was uploaded" in n for n in page.notifications), \
        page.notifications
    response = as_trainer.client.get(f"{draft_url()}/files/images/flood-map.png")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    page = upload(as_trainer, "evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg">'
                                          b'<script>alert(1)</script></svg>')
    assert page.status == 400 and page.errors and "script" in page.errors[0].lower()
    page = upload(as_trainer, "fake.png", b"<html>not a picture</html>")
    assert page.status == 400 and page.errors
    page = as_trainer.get(draft_url())
    form = page.soup.select_one("form[action$='/files/images/flood-map.png/delete']")
    page = read_page(as_trainer.client.post(form["action"], follow_redirects=True, data={
        "csrf_token": page.csrf_token(),
        "base_sha256": form.find("input", attrs={"name": "base_sha256"})["value"]}))
    assert "images/flood-map.png was deleted from the draft." in page.notifications
    assert as_trainer.client.get(f"{draft_url()}/files/images/flood-map.png").status_code == 404


def test_publishing_asks_about_renewal_and_goes_to_the_course_page(as_trainer, session):
    create(as_trainer)
    page = as_trainer.get(f"{draft_url()}/publish")
    # Nobody has completed a course never published: the first publish does not ask.
    assert "Does everyone need to complete the course again?" not in page.text
    assert "Items added" in page.text
    page = as_trainer.submit(f"{draft_url()}/publish", {"note": "First version"})
    assert "FLOOD-1 was published as version 1." in page.notifications[0]
    assert page.h1 == "Flood response"
    version = session.scalar(select(CourseVersion).join(
        Course, Course.id == CourseVersion.course_id).where(Course.code == "FLOOD-1"))
    assert not version.needs_renewal and version.note == "First version"
    page = as_trainer.get(draft_url())
    assert "there is nothing new to publish yet" in page.text
    add(as_trainer, "quiz", "Check what you know")
    page = as_trainer.get(f"{draft_url()}/publish")
    assert "Does everyone need to complete the course again?" in page.text
    page = as_trainer.submit(f"{draft_url()}/publish", {"note": "Second"})
    assert page.errors == ["Select yes if everyone needs to complete the course again"]
    page = as_trainer.submit(f"{draft_url()}/publish", {"needs_renewal": "yes",
                                                        "note": "Second version"})
    assert "FLOOD-1 was published as version 2." in page.notifications[0]
    session.expire_all()
    latest = session.scalar(select(CourseVersion).where(CourseVersion.number == 2))
    assert latest.needs_renewal


def test_other_trainers_learners_and_unknown_courses_are_kept_out(
        browser, as_trainer, app, make, organisation):
    create(as_trainer)
    other = Browser(app.test_client())
    other.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    assert other.get(draft_url()).status == 403
    assert other.get(f"{draft_url()}/pages/course.md").status == 403
    assert other.get(f"{draft_url()}/publish").status == 403
    assert other.get(draft_url("NO-SUCH")).status == 404
    learner = Browser(app.test_client())
    learner.sign_in(make.user(organisation=organisation).email)
    assert learner.get(draft_url()).status == 403
    assert learner.get("/author/new").status == 403
    assert learner.get("/author/format").status == 403
    assert as_trainer.get(f"{draft_url()}/pages/99-nothing.md").status == 404
    assert as_trainer.get("/author/format").h1 == "Course format reference"


def test_forms_without_a_csrf_token_are_refused(as_trainer, session):
    create(as_trainer)
    response = as_trainer.client.post(f"{draft_url()}/items",
                                      data={"kind": "quiz", "title": "Sneaky"})
    assert response.status_code == 400
    response = as_trainer.client.post("/author/new", data={"title": "X", "code": "X-1"})
    assert response.status_code == 400
    assert session.scalar(select(Course).where(Course.code == "X-1")) is None


def test_the_preview_fragment_renders_unsaved_text(as_trainer):
    create(as_trainer)
    url = f"{draft_url()}/pages/01-introduction.md"
    token = as_trainer.get(url).csrf_token()
    response = as_trainer.client.post(f"{url}/preview", headers={"X-CSRFToken": token},
                                      data={"text": "---\ntitle: Hello there\n---\n\nBody\n"})
    page = read_page(response)
    assert response.status_code == 200 and "Hello there" in page.text
    assert page.soup.find("html") is None


def test_discarding_the_draft_goes_back_to_the_published_version(as_trainer):
    create(as_trainer)
    assert "Discard every unpublished change" not in as_trainer.get(draft_url()).text
    as_trainer.submit(f"{draft_url()}/publish", {"needs_renewal": "no", "note": "First"})
    add(as_trainer, "quiz", "Check what you know")
    page = as_trainer.get(draft_url())
    assert "Discard every unpublished change" in page.text
    confirm = as_trainer.get(f"{draft_url()}/discard")
    assert confirm.h1 == "Are you sure you want to discard every unpublished change?"
    assert "/author/courses/FLOOD-1/draft.zip" in [a["href"] for a in confirm.soup.select("main a")]
    page = as_trainer.submit(f"{draft_url()}/discard", {})
    assert page.notifications == ["The draft's changes were discarded. It is version 1 again."]
    assert item_paths(page) == ["01-introduction.md"]
    assert "there is nothing new to publish yet" in page.text
    nothing = as_trainer.get(f"{draft_url()}/discard", follow_redirects=True)
    assert nothing.notifications == ["There are no unpublished changes to discard."]


FLAWED_QUIZ = ("---\ntitle: Check\npass_mark: 80\n---\n\n## Which of these is not a principle?\n"
               "\n- [x] Co-locate\n- [ ] Communicate\n- [ ] All of the above\n")


def save(browser, path, text):
    url = f"{draft_url()}/pages/{path}"
    sha = browser.get(url).soup.find("input", attrs={"name": "base_sha256"})["value"]
    return browser.submit(url, {"text": text, "action": "save", "base_sha256": sha})


def listed(page, selector) -> list[str]:
    return [" ".join(li.get_text(" ", strip=True).split()) for li in page.soup.select(selector)]


def test_item_writing_warnings_are_shown_beside_their_lines_and_do_not_stop_publishing(
        as_trainer, session):
    create(as_trainer)
    add(as_trainer, "quiz", "Check")
    page = save(as_trainer, "02-check.quiz.md", FLAWED_QUIZ)
    assert page.status == 200
    assert page.notifications[0] == "Your changes were saved."  # warnings are not problems
    assert page.soup.find(id="problems").find_next_sibling("p").get_text(strip=True) == "None."
    heading = page.soup.find(id="warnings")
    assert heading is not None and heading.get_text(strip=True) == "Warnings in this page"
    assert "2 warnings about how questions or choices are written" in page.soup.select_one(
        ".app-editor-preview .govuk-warning-text").get_text()
    warnings = listed(page, ".app-warnings li")
    assert warnings[0].startswith("Line 6 : the question asks with “not” without stressing it")
    assert warnings[1].startswith("Line 10 : “All of the above” as an answer")
    links = page.soup.select(".app-warnings a.app-line-link")
    page_url = f"{draft_url()}/pages/02-check.quiz.md"
    assert [(a["href"], a["data-line"]) for a in links] == [
        (f"{page_url}?line=6#line-problem", "6"), (f"{page_url}?line=10#line-problem", "10")]
    assert not page.soup.select("#problems ~ ul li")

    draft = as_trainer.get(draft_url())
    assert draft.status == 200
    assert "None: the draft can be published." in draft.text
    assert draft.soup.find(id="warnings").get_text(strip=True) == "Warnings"
    assert [a["href"] for a in draft.soup.select(".app-warnings a")] == [
        f"{draft_url()}/pages/02-check.quiz.md",
        f"{draft_url()}/pages/02-check.quiz.md?line=6#line-problem",
        f"{draft_url()}/pages/02-check.quiz.md?line=10#line-problem"]

    published = as_trainer.submit(f"{draft_url()}/publish", {"needs_renewal": "no"})
    assert published.status == 200
    assert "FLOOD-1 was published as version 1." in published.notifications[0]


def test_the_preview_shows_warnings_for_unsaved_text(as_trainer):
    create(as_trainer)
    add(as_trainer, "quiz", "Check")
    url = f"{draft_url()}/pages/02-check.quiz.md"
    token = as_trainer.get(url).csrf_token()
    response = as_trainer.client.post(f"{url}/preview", headers={"X-CSRFToken": token},
                                      data={"text": FLAWED_QUIZ})
    assert response.status_code == 200
    assert len(read_page(response).soup.select(".app-warnings a.app-line-link")) == 2
    clean = FLAWED_QUIZ.replace(" not ", " **not** ").replace("All of the above", "Co-operate")
    response = as_trainer.client.post(f"{url}/preview", headers={"X-CSRFToken": token},
                                      data={"text": clean})
    assert response.status_code == 200
    assert read_page(response).soup.find(id="warnings") is None


def test_a_zip_upload_lists_its_warnings_with_links_to_their_lines(as_trainer):
    create(as_trainer)
    buffer = io.BytesIO(as_trainer.client.get("/author/courses/FLOOD-1/draft.zip").data)
    with zipfile.ZipFile(buffer, "a") as archive:
        folder = archive.namelist()[0].split("/")[0]
        archive.writestr(f"{folder}/02-check.quiz.md", FLAWED_QUIZ)
    url = "/author/courses/FLOOD-1/import"
    form = as_trainer.get(url)
    revision = form.soup.find("input", attrs={"name": "revision"})["value"]
    page = read_page(as_trainer.client.post(url, content_type="multipart/form-data", data={
        "csrf_token": form.csrf_token(), "archive": (io.BytesIO(buffer.getvalue()), "c.zip"),
        "revision": revision}))
    assert page.status == 200 and page.h1 == "The zip is now the draft"
    assert "No problems were found: the draft can be published." in page.text
    assert page.soup.find(id="warnings").get_text(strip=True) == "Warnings (2)"
    assert listed(page, ".app-warnings li")[0].startswith(
        "Line 6 of 02-check.quiz.md : the question asks with")
    assert page.soup.select(".app-warnings li a")[0]["href"] == (
        f"{draft_url()}/pages/02-check.quiz.md?line=6#line-problem")


def test_an_item_whose_front_matter_is_broken_is_named_by_its_file_not_none(as_trainer):
    create(as_trainer)
    page = add(as_trainer, "module", "Mud and water")
    path = "02-mud-and-water.md"
    form = page.soup.find("form", class_="app-editor-form")
    text = form.find("textarea", attrs={"name": "text"}).get_text()
    broken = text.replace("title: Mud and water", "title: [Mud and water")
    assert broken != text
    base = form.find("input", attrs={"name": "base_sha256"})["value"]
    as_trainer.submit(f"{draft_url()}/pages/{path}", {"text": broken, "base_sha256": base,
                                                      "action": "save"})
    publish = as_trainer.get(f"{draft_url()}/publish")
    assert "None" not in publish.soup.find("main").get_text()
    assert "Reading module: mud-and-water (no title yet)" in publish.text
