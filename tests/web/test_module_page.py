"""The reading module page: its SQL statements, and the HTML kept from one request to the
next, which must show each learner their own state, token and navigation."""

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from tests.support.pages import read_page
from tests.support.web import Browser

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
FIRST = "/learn/JESIP-AWARE/modules/why-interoperability"
SECOND = "/learn/JESIP-AWARE/modules/the-five-principles"
DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


def signed_in(app, user) -> Browser:
    other = Browser(app.test_client())
    other.sign_in(user.email)
    return other


@contextmanager
def statements(engine):
    """The SQL statements that read or write data, as they are sent to the database."""
    sent = []

    def record(_connection, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(DATA_STATEMENTS):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_module_page_reads_the_user_then_one_query(app, browser, learner, course_version,
                                                       transactional_db):
    first = browser.get(SECOND)
    with statements(transactional_db.engine) as sent:
        again = browser.get(SECOND)
    assert again.status == 200 and again.h1 == first.h1 == "The five principles"
    assert len(sent) == 2, "\n\n".join(sent)
    user_query, page_query = sent
    assert "FROM users" in user_query
    assert "FROM courses" in page_query and "item_progress" in page_query


def test_each_learner_sees_their_own_progress(app, browser, learner, make, organisation,
                                              course_version, session):
    other = make.user(organisation=organisation)
    progress.complete_item(session, other, course_version, "the-five-principles")
    session.commit()
    mine = browser.get(SECOND)
    theirs = signed_in(app, other).get(SECOND)
    assert "Mark as complete and continue" in mine.text and "Completed" not in mine.text
    assert "Completed" in theirs.text and "Mark as complete" not in theirs.text
    again = browser.get(SECOND)
    assert "Mark as complete and continue" in again.text


def test_each_page_carries_the_readers_own_csrf_token(app, browser, learner, make,
                                                      organisation, course_version, session):
    mine = browser.get(SECOND).csrf_token()
    other_user = make.user(organisation=organisation)
    other = signed_in(app, other_user)
    page = other.get(SECOND)
    theirs = page.csrf_token()
    assert theirs != mine
    assert mine not in page.soup.decode()
    assert all(field["value"] == theirs
               for field in page.soup.find_all("input", attrs={"name": "csrf_token"}))
    response = other.client.post(f"{SECOND}/complete", data={"csrf_token": theirs})
    assert response.status_code == 302
    states = progress.item_states(session, other_user, course_version)
    assert states["the-five-principles"] == "completed"
    refused = browser.client.post(f"{SECOND}/complete", data={"csrf_token": theirs})
    assert refused.status_code == 400


def test_the_token_stays_the_same_and_valid_across_pages(browser, learner, course_version,
                                                         session):
    token = browser.get(FIRST).csrf_token()
    assert browser.get(SECOND).csrf_token() == token
    assert browser.client.post(f"{FIRST}/complete", data={"csrf_token": token}).status_code \
        == 302
    assert progress.item_states(session, learner, course_version)[
        "why-interoperability"] == "completed"


def test_pages_after_sign_in_do_not_set_the_session_cookie_again(client, learner,
                                                                   course_version):
    response = client.get(SECOND)
    assert response.status_code == 200
    assert not [c for c in response.headers.getlist("Set-Cookie")
                if c.startswith("jesip_session=")]


def test_marking_complete_changes_the_page(browser, learner, course_version):
    token = browser.get(FIRST).csrf_token()
    browser.client.post(f"{FIRST}/complete", data={"csrf_token": token})
    page = browser.get(FIRST)
    assert "Completed" in page.text and "Mark as complete" not in page.text


def test_a_new_version_shows_at_once(browser, learner, course_version, session, tmp_path):
    assert "A paragraph added later." not in browser.get(SECOND).text
    copy = tmp_path / "course"
    shutil.copytree(VALID, copy)
    page = copy / "02-the-five-principles.md"
    page.write_text(page.read_text() + "\nA paragraph added later.\n")
    courses.import_parsed(session, courses.parse_folders(copy))
    session.commit()
    assert "A paragraph added later." in browser.get(SECOND).text


def test_the_navigation_follows_the_readers_permissions(app, browser, learner, make,
                                                        organisation, course_version):
    links = lambda page: [a.get_text(strip=True)  # noqa: E731
                          for a in page.soup.select(".govuk-service-navigation__link")
                          if a.name == "a"]
    assert "Administration" not in links(browser.get(SECOND))
    administrator = make.user(organisation=organisation, permissions={"admin"})
    page = signed_in(app, administrator).get(SECOND)
    assert {"My training", "Administration", "Your account"} <= set(links(page))
    assert "Administration" not in links(browser.get(SECOND))


def test_messages_to_show_once_are_shown_once(browser, learner, course_version):
    browser.get(SECOND)
    with browser.client.session_transaction() as cookie_session:
        cookie_session["_flashes"] = [("success", "A message for this learner")]
    assert browser.get(SECOND).notifications == ["A message for this learner"]
    assert browser.get(SECOND).notifications == []


def test_the_course_code_is_read_in_any_letter_case(browser, learner, course_version):
    page = browser.get(SECOND.replace("JESIP-AWARE", "jesip-aware"))
    assert page.status == 200 and page.h1 == "The five principles"
    back = page.soup.select_one(".govuk-back-link")
    assert back["href"] == "/learn/JESIP-AWARE"


def test_quizzes_and_unknown_items_are_not_module_pages(browser, learner, course_version):
    browser.get(SECOND)
    assert browser.get("/learn/JESIP-AWARE/modules/check-your-understanding").status == 404
    assert browser.get("/learn/JESIP-AWARE/modules/nope").status == 404
    assert browser.get("/learn/NOPE/modules/the-five-principles").status == 404


def test_signed_out_readers_are_sent_to_sign_in(app, learner, course_version):
    response = app.test_client().get(SECOND)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_stored_page_reads_as_a_fresh_one(app, browser, learner, course_version):
    def html():
        page = read_page(browser.client.get(SECOND))
        return page.soup.decode().replace(page.csrf_token(), "TOKEN")

    first = html()
    app.jinja_env.auto_reload = True  # pages are rendered afresh while templates reload
    fresh = html()
    app.jinja_env.auto_reload = False
    assert first == fresh == html()


def test_a_stored_page_is_sent_as_the_same_utf8_a_fresh_one_is(app, browser, learner,
                                                                 course_version, session,
                                                                 tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(VALID, copy)
    page = copy / "02-the-five-principles.md"
    page.write_text(page.read_text() + "\nThe commander’s log – kept by Gold.\n",
                    encoding="utf-8")
    courses.import_parsed(session, courses.parse_folders(copy))
    session.commit()

    def sent():
        response = browser.client.get(SECOND)
        assert response.status_code == 200
        token = read_page(response).csrf_token()
        return response.headers["Content-Type"], response.data.replace(token.encode(), b"TOKEN")

    stored = sent()
    app.jinja_env.auto_reload = True
    fresh = sent()
    app.jinja_env.auto_reload = False
    assert stored == fresh == sent()
    content_type, body = stored
    assert content_type == "text/html; charset=utf-8"
    assert "The commander’s log – kept by Gold." in body.decode("utf-8")
