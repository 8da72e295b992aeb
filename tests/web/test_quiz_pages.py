"""Quiz pages through the test client: the overview, an attempt, its errors and its result,
read as a person would (title, h1, error summary), and never an answer before submitting."""

import random
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import attempt_answers, attempts, progress
from jesip_learn.learning.models import Completion, QuizAttempt
from tests.support.quizzes import answer_values

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
SLUG = "check-your-understanding"
OVERVIEW = f"/learn/JESIP-AWARE/quizzes/{SLUG}"


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


@pytest.fixture
def quiz(course_version):
    return courses.version_item(course_version, SLUG)


def start_quiz(browser):
    """Press "Start quiz" (or "Continue quiz") on the overview; the attempt page follows."""
    return browser.submit(f"{OVERVIEW}/start", {}, form_url=OVERVIEW)


def latest_attempt(session, user) -> QuizAttempt:
    session.expire_all()
    return session.scalar(select(QuizAttempt).where(QuizAttempt.user_id == user.id)
                          .order_by(QuizAttempt.id.desc()).limit(1))


def attempt_url(attempt) -> str:
    return f"{OVERVIEW}/attempts/{attempt.id}"


def send(browser, attempt, values, action="submit"):
    return browser.submit(attempt_url(attempt), {**values, "action": action})


def submitted_count(session, user) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.submitted_at.is_not(None)))


# --- the overview -----------------------------------------------------------------------


def test_the_overview_says_what_the_quiz_asks(browser, learner, course_version):
    page = browser.get(OVERVIEW)
    assert page.status == 200
    assert page.title == "Check your understanding – JESIP Awareness – JESIP Learn"
    assert page.h1 == "Check your understanding"
    assert "Questions 3 questions" in page.text and "Pass mark 80%" in page.text
    assert "Attempts 0 of 3 used, 3 left" in page.text
    assert page.soup.find("button", string=re.compile("Start quiz"))
    assert "You have not submitted an attempt yet." in page.text


@pytest.fixture
def unlimited_version(session, tmp_path):
    """The example course with no limit on attempts at its quiz."""
    copy = tmp_path / "valid-course"
    shutil.copytree(VALID, copy)
    quiz_file = next(copy.glob("*.quiz.md"))
    text = quiz_file.read_text()
    assert "max_attempts: 3" in text
    quiz_file.write_text(text.replace("max_attempts: 3", "", 1))
    courses.import_parsed(session, courses.parse_folders(copy))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


def take_quiz(session, learner, version, *, passes=(), times=23, open_one=False):
    """`times` submitted attempts, the first submitted first; those numbered in `passes`
    answered right, the others wrong. Then an open one, if asked for."""
    quiz = courses.version_item(version, SLUG)
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    for number in range(1, times + 1 + open_one):
        now = start + timedelta(hours=number)
        attempt = attempts.start_attempt(session, learner, version, quiz, random.Random(number),
                                         now)
        if number <= times:
            values = answer_values(attempt_answers.attempt_questions(attempt),
                                   right=number in passes)
            assert attempts.submit_attempt(session, attempt, values, now).recorded
    session.commit()


def attempt_rows(page) -> list[str]:
    return [" ".join(row.get_text(" ", strip=True).split())
            for row in page.soup.select(".govuk-table__body .govuk-table__row")]


def pagination(page) -> dict:
    nav = page.soup.select_one("nav.govuk-pagination")
    if nav is None:
        return {}
    current = nav.select_one(".govuk-pagination__item--current a")
    previous = nav.select_one(".govuk-pagination__prev a")
    following = nav.select_one(".govuk-pagination__next a")
    return {
        "label": nav["aria-label"],
        "pages": [a.get_text(strip=True) for a in nav.select(".govuk-pagination__item a")],
        "hrefs": [a["href"] for a in nav.select(".govuk-pagination__item a")],
        "current": current.get_text(strip=True) if current else None,
        "previous": previous["href"] if previous else None,
        "next": following["href"] if following else None,
    }


def test_the_overview_shows_ten_attempts_a_page_newest_first(
        browser, learner, unlimited_version, session):
    take_quiz(session, learner, unlimited_version, passes={5}, open_one=True)
    first = browser.get(OVERVIEW)
    assert first.status == 200
    assert first.title == ("Check your understanding (page 1 of 3) – JESIP Awareness – "
                           "JESIP Learn")
    rows = attempt_rows(first)
    assert [row.split(" result")[0] for row in rows] == [
        f"Attempt {n}" for n in range(23, 13, -1)]  # attempt 24 is open, so not listed
    assert "Showing attempts 1 to 10 of 23." in first.text
    # Each row links to its own attempt's result.
    submitted = session.scalars(
        select(QuizAttempt.id).where(QuizAttempt.user_id == learner.id,
                                     QuizAttempt.submitted_at.is_not(None))
        .order_by(QuizAttempt.started_at.desc(), QuizAttempt.id.desc())).all()
    links = [a["href"] for a in first.soup.select(".govuk-table__body a")]
    assert links == [f"{OVERVIEW}/attempts/{id_}/result" for id_ in submitted[:10]]
    result = browser.get(links[3])
    assert result.status == 200
    assert ", attempt 20 –" in result.title
    assert pagination(first) == {
        "label": "Pages of your attempts", "pages": ["1", "2", "3"],
        "hrefs": [f"{OVERVIEW}?page={n}" for n in (1, 2, 3)], "current": "1",
        "previous": None, "next": f"{OVERVIEW}?page=2"}
    # The summary is over every attempt, not only those on the page.
    assert "Attempts As many as you need. You have used 23." in first.text
    assert "Best score 3 out of 3 (100%)" in first.text
    assert "You have passed this quiz." in first.text
    assert "Passed" not in " ".join(rows)

    second = browser.get(f"{OVERVIEW}?page=2")
    assert second.title.startswith("Check your understanding (page 2 of 3) –")
    rows = attempt_rows(second)
    assert [row.split(" result")[0] for row in rows] == [f"Attempt {n}" for n in range(13, 3, -1)]
    assert "Passed" in rows[8] and "3 out of 3 (100%)" in rows[8]  # attempt 5
    assert "Showing attempts 11 to 20 of 23." in second.text
    links = pagination(second)
    assert links["current"] == "2"
    assert (links["previous"], links["next"]) == (f"{OVERVIEW}?page=1", f"{OVERVIEW}?page=3")

    last = browser.get(f"{OVERVIEW}?page=3")
    assert [row.split(" result")[0] for row in attempt_rows(last)] == [
        "Attempt 3", "Attempt 2", "Attempt 1"]
    assert "Showing attempts 21 to 23 of 23." in last.text
    assert pagination(last)["next"] is None and pagination(last)["current"] == "3"


@pytest.mark.parametrize(("asked", "shown"), [
    ("0", "1"), ("-2", "1"), ("two", "1"), ("", "1"), ("1.5", "1"), ("4", "3"),
    ("99999999999999999999999999", "3"), ("9" * 5000, "3"), ("²", "1"), ("١٢", "1"),
])
def test_a_page_number_out_of_range_shows_the_nearest_page(
        browser, learner, unlimited_version, session, asked, shown):
    take_quiz(session, learner, unlimited_version)
    page = browser.get(f"{OVERVIEW}?page={asked}")
    assert page.status == 200
    assert pagination(page)["current"] == shown
    assert len(attempt_rows(page)) == (3 if shown == "3" else 10)


def test_a_few_attempts_need_no_pages(browser, learner, unlimited_version, session):
    take_quiz(session, learner, unlimited_version, passes={1}, times=2)
    page = browser.get(OVERVIEW)
    assert page.title == "Check your understanding – JESIP Awareness – JESIP Learn"
    assert pagination(page) == {} and "Showing attempts" not in page.text
    assert [row.split(" result")[0] for row in attempt_rows(page)] == ["Attempt 2", "Attempt 1"]
    assert "Best score 3 out of 3 (100%)" in page.text
    assert browser.get(f"{OVERVIEW}?page=5").status == 200


def test_the_best_score_is_the_highest_of_those_that_count(browser, learner, course_version,
                                                           session, quiz):
    assert "Best score" not in browser.get(OVERVIEW).text  # nothing submitted yet
    take_quiz(session, learner, course_version, times=2)
    page = browser.get(OVERVIEW)
    assert "Best score 0 out of 3 (0%)" in page.text
    assert "You have passed this quiz." not in page.text


def test_the_course_page_links_to_the_quiz(browser, learner, course_version):
    page = browser.get("/learn/JESIP-AWARE")
    assert page.soup.find("a", href=OVERVIEW, string="Check your understanding")


def test_looking_at_the_overview_starts_nothing(browser, learner, course_version, session):
    browser.get(OVERVIEW)
    assert latest_attempt(session, learner) is None


def test_unknown_quizzes_are_not_found(browser, learner, course_version):
    assert browser.get("/learn/JESIP-AWARE/quizzes/nope").status == 404
    assert browser.get("/learn/NOPE/quizzes/check-your-understanding").status == 404
    module = course_version.items[0].slug
    assert browser.get(f"/learn/JESIP-AWARE/quizzes/{module}").status == 404


def test_quiz_pages_need_sign_in(client, course_version):
    assert client.get(OVERVIEW).status_code == 302


# --- an attempt -------------------------------------------------------------------------


def test_the_attempt_page_shows_every_question_to_answer(browser, learner, course_version,
                                                         session, quiz):
    page = start_quiz(browser)
    attempt = latest_attempt(session, learner)
    assert page.title == "Check your understanding, attempt 1 – JESIP Awareness – JESIP Learn"
    assert page.h1 == "Check your understanding"
    fieldsets = page.soup.select("main form fieldset")
    assert len(fieldsets) == 3
    questions = attempt_answers.attempt_questions(attempt)
    for fieldset, question in zip(fieldsets, questions, strict=True):
        legend = " ".join(fieldset.legend.get_text(" ", strip=True).split())
        assert legend.endswith(question.title) and legend.startswith("Question ")
        shown = attempt.option_order[question.id]
        if question.kind == "single":
            radios = fieldset.select("input[type=radio]")
            assert [r["value"] for r in radios] == shown and {r["name"] for r in radios} == {
                question.id}
        elif question.kind == "multiple":
            boxes = fieldset.select("input[type=checkbox]")
            assert [b["value"] for b in boxes] == shown
            assert "Select all that apply" in fieldset.get_text()
        else:
            selects = fieldset.select("select")
            assert [s["name"] for s in selects] == [f"{question.id}.{o}" for o in shown]
            labels = [fieldset.find("label", attrs={"for": s["id"]}).get_text(strip=True)
                      for s in selects]
            html = {o.id: o.html for o in question.options}
            assert labels == [html[o] for o in shown]
            assert tuple(shown) != question.correct_order
            for select_field in selects:
                options = [o["value"] for o in select_field.select("option")]
                assert options == ["", "1", "2", "3"]
    buttons = [b.get_text(strip=True) for b in page.soup.select("main form button")]
    assert buttons == ["Submit answers", "Save and come back later"]
    assert "govuk-button--secondary" in page.soup.select("main form button")[1]["class"]


def test_answers_and_explanations_are_never_in_the_page_before_submission(
        browser, learner, course_version, session, quiz):
    page = start_quiz(browser)
    attempt = latest_attempt(session, learner)
    url = attempt_url(attempt)
    partly = answer_values([q for q in attempt_answers.attempt_questions(attempt)
                            if q.kind == "single"], right=True)
    pages = {
        "new": page,
        "again": browser.get(url),
        "saved": (send(browser, attempt, partly, "save"), browser.get(url))[1],
        "with errors": send(browser, attempt, partly),
        "overview": browser.get(OVERVIEW),
    }
    assert pages["with errors"].errors  # still unsubmitted
    for name, shown in pages.items():
        html = str(shown.soup)
        text = shown.text
        for question in quiz.questions:
            explanation = " ".join(re.sub("<[^>]+>", " ", question.explanation_html).split())
            assert explanation[:40] not in text, f"{name}: explanation shown"
            assert question.explanation_html not in html, f"{name}: explanation in the HTML"
        assert not re.search(r"correct|right answer|data-answer", html, re.IGNORECASE), name
        assert "You scored" not in text


def test_saving_keeps_answers_for_later(browser, learner, course_version, session):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    single = next(q for q in attempt_answers.attempt_questions(attempt) if q.kind == "single")
    chosen = answer_values([single])[single.id][0]
    page = send(browser, attempt, {single.id: [chosen]}, "save")
    assert page.h1 == "Check your understanding"  # back on the overview
    assert any("Your answers have been saved" in n for n in page.notifications)
    assert page.soup.find("button", string=re.compile("Continue quiz"))
    assert submitted_count(session, learner) == 0
    again = browser.get(attempt_url(attempt))
    assert again.soup.find("input", attrs={"value": chosen})["checked"] is not None
    resumed = start_quiz(browser)  # "Continue quiz" goes back to the same attempt
    assert resumed.soup.find("input", attrs={"value": chosen}).has_attr("checked")
    assert latest_attempt(session, learner).id == attempt.id


def chosen_position(page, name) -> str | None:
    select_field = page.soup.find("select", attrs={"name": name})
    chosen = select_field.find_all("option", selected=True)
    assert len(chosen) <= 1
    return chosen[0]["value"] if chosen else None


def test_saving_keeps_an_unfinished_ordering_as_chosen(browser, learner, course_version,
                                                       session, quiz):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    ordering = next(q for q in attempt_answers.attempt_questions(attempt) if q.kind == "ordering")
    shown = attempt.option_order[ordering.id]
    names = [f"{ordering.id}.{option_id}" for option_id in shown]
    page = send(browser, attempt, {names[0]: ["2"], names[1]: ["3"], names[2]: [""]}, "save")
    assert any("Your answers have been saved" in n for n in page.notifications)
    again = browser.get(attempt_url(attempt))
    assert not again.errors
    assert [chosen_position(again, name) for name in names] == ["2", "3", None]
    resumed = start_quiz(browser)  # "Continue quiz" shows them too
    assert [chosen_position(resumed, name) for name in names] == ["2", "3", None]
    # Submitting still needs every item in a different position.
    page = send(browser, attempt, {names[0]: ["2"], names[1]: ["3"]})
    number = attempt_answers.attempt_questions(attempt).index(ordering) + 1
    assert f"Question {number}: Give each item a different position, from 1 to 3" in page.errors
    assert submitted_count(session, learner) == 0


def test_the_result_shows_the_ordering_submitted_after_a_saved_one(
        browser, learner, course_version, session, quiz):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    questions = attempt_answers.attempt_questions(attempt)
    ordering = next(q for q in questions if q.kind == "ordering")
    first, second, _third = ordering.correct_order
    send(browser, attempt, {f"{ordering.id}.{first}": ["1"], f"{ordering.id}.{second}": ["2"]},
         "save")
    page = send(browser, attempt, answer_values(questions, right=False))
    assert page.h1 == "You did not pass" and "You scored 0 out of 3" in page.text
    html = {option.id: option.html for option in ordering.options}
    card = next(c for c in page.soup.select(".govuk-summary-card")
                if ordering.title in c.get_text())
    assert card.select_one(".govuk-tag").get_text(strip=True) == "Wrong"
    given = card.select(".govuk-summary-list__value")[0].get_text(" ", strip=True)
    expected = [re.sub("<[^>]+>", "", html[oid]) for oid in reversed(ordering.correct_order)]
    assert [given.index(text) for text in expected] == sorted(
        given.index(text) for text in expected)


def test_unanswered_questions_are_listed_in_an_error_summary(browser, learner, course_version,
                                                             session):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    questions = attempt_answers.attempt_questions(attempt)
    numbers = {q.kind: n for n, q in enumerate(questions, start=1)}
    single = next(q for q in questions if q.kind == "single")
    page = send(browser, attempt, answer_values([single]))
    assert page.title.startswith("Error: Check your understanding, attempt 1")
    assert sorted(page.errors) == sorted([
        f"Question {numbers['multiple']}: Select all the answers that apply",
        f"Question {numbers['ordering']}: Give each item a different position, from 1 to 3",
    ])
    links = page.error_links()
    assert set(links.values()) == {f"question-{numbers['multiple']}",
                                   f"question-{numbers['ordering']}"}
    assert len(page.soup.select(".govuk-form-group--error")) == 2
    assert page.soup.find("input", attrs={"value": answer_values([single])[single.id][0]}
                          ).has_attr("checked")  # what was sent is shown again
    assert submitted_count(session, learner) == 0


def test_an_ordering_answer_with_errors_is_shown_as_sent(browser, learner, course_version,
                                                         session):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    questions = attempt_answers.attempt_questions(attempt)
    values = answer_values(questions)
    ordering = next(q for q in questions if q.kind == "ordering")
    first = ordering.options[0].id
    values[f"{ordering.id}.{first}"] = ["3"]  # two items in position 3
    page = send(browser, attempt, values)
    assert page.errors == [f"Question {questions.index(ordering) + 1}: Give each item a "
                           "different position, from 1 to 3"]
    chosen = page.soup.find("select", attrs={"name": f"{ordering.id}.{first}"}).find(
        "option", selected=True)
    assert chosen["value"] == "3"


def test_wrong_answers_show_a_fail_with_what_was_wrong_and_why_but_not_the_right_answers(
        browser, learner, course_version, session, quiz):
    """The example quiz leaves show_answers at its default: right answers after a pass."""
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    page = send(browser, attempt, answer_values(attempt_answers.attempt_questions(attempt),
                                                right=False))
    assert page.title == ("You did not pass: Check your understanding, attempt 1 – "
                          "JESIP Awareness – JESIP Learn")
    assert page.h1 == "You did not pass"
    assert "You scored 0 out of 3 (0%). The pass mark is 80%." in page.text
    cards = page.soup.select(".govuk-summary-card")
    assert len(cards) == 3
    for card in cards:
        assert card.select_one(".govuk-tag").get_text(strip=True) == "Wrong"
        keys = [k.get_text(strip=True) for k in card.select(".govuk-summary-list__key")]
        assert keys == ["Your answer", "Why"]
    text = page.text
    summary = next(p for p in page.soup.select("main p") if "wrong:" in p.get_text())
    assert " ".join(summary.get_text().split()) == (
        "You got 3 questions wrong: question 1, question 2 and question 3.")
    assert "The right answers will be shown once you pass this quiz." in text
    for question in quiz.questions:
        explanation = " ".join(re.sub("<[^>]+>", " ", question.explanation_html).split())
        assert explanation in text
    assert "Communicate" in text and "Co-locate" not in text  # theirs, not the right one
    assert page.soup.find("button", string=re.compile("Try again"))
    assert "You have 2 attempts left." in text
    overview = browser.get(OVERVIEW)
    assert "Attempts 1 of 3 used, 2 left" in overview.text
    row = overview.soup.select_one(".govuk-table__body .govuk-table__row")
    assert "0 out of 3 (0%)" in row.get_text() and "Not passed" in row.get_text()


def test_passing_completes_the_quiz_and_announces_a_completed_course(
        browser, learner, course_version, session):
    for item in course_version.items:
        if item.slug != SLUG:
            progress.complete_item(session, learner, course_version, item.slug)
    session.commit()
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    page = send(browser, attempt, answer_values(attempt_answers.attempt_questions(attempt)))
    assert page.h1 == "You passed"
    assert "You scored 3 out of 3 (100%)." in page.text
    assert [t.get_text(strip=True) for t in page.soup.select(".govuk-summary-card .govuk-tag")
            ] == ["Right"] * 3
    assert any("You have completed JESIP Awareness" in n for n in page.notifications)
    assert not page.soup.find("button", string=re.compile("Try again"))
    overview = browser.get(OVERVIEW)
    assert "You have passed this quiz." in overview.text
    assert overview.soup.find("button", string=re.compile("Take the quiz again"))
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Completion).where(
        Completion.user_id == learner.id)) == 1


def test_a_double_submit_records_one_result_and_shows_it_again(browser, learner,
                                                               course_version, session):
    attempt_page = start_quiz(browser)
    attempt = latest_attempt(session, learner)
    token = attempt_page.csrf_token()
    values = answer_values(attempt_answers.attempt_questions(attempt), right=False)
    form = {**values, "action": "submit", "csrf_token": token}
    first = browser.client.post(attempt_url(attempt), data=form)
    replay = browser.client.post(attempt_url(attempt), data={
        **answer_values(attempt_answers.attempt_questions(attempt)), "action": "submit",
        "csrf_token": token})
    result_url = f"{attempt_url(attempt)}/result"
    assert first.status_code == replay.status_code == 302
    assert first.headers["Location"].endswith(result_url)
    assert replay.headers["Location"].endswith(result_url)
    assert submitted_count(session, learner) == 1
    page = browser.get(result_url)
    assert page.h1 == "You did not pass" and "You scored 0 out of 3" in page.text
    saved = browser.client.post(attempt_url(attempt), data={**form, "action": "save"})
    assert saved.headers["Location"].endswith(result_url)
    assert latest_attempt(session, learner).correct == 0


def test_an_open_attempt_has_no_result_yet_and_a_submitted_one_no_form(
        browser, learner, course_version, session):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    early = browser.client.get(f"{attempt_url(attempt)}/result")
    assert early.status_code == 302 and early.headers["Location"].endswith(attempt_url(attempt))
    send(browser, attempt, answer_values(attempt_answers.attempt_questions(attempt)))
    late = browser.client.get(attempt_url(attempt))
    assert late.status_code == 302 and late.headers["Location"].endswith("/result")


def test_someone_elses_attempt_is_not_found(browser, make, organisation, course_version,
                                            session, learner):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    url = attempt_url(attempt)
    browser.sign_out()
    other = make.user(organisation=organisation, name="Other Person")
    browser.sign_in(other.email)
    assert browser.get(url).status == 404
    assert browser.get(f"{url}/result").status == 404
    token = browser.get(OVERVIEW).csrf_token()
    response = browser.client.post(url, data={
        **answer_values(attempt_answers.attempt_questions(attempt)), "action": "submit",
        "csrf_token": token})
    assert response.status_code == 404
    assert submitted_count(session, learner) == 0


def test_an_attempt_is_found_only_under_its_own_quiz(browser, learner, course_version,
                                                     session):
    start_quiz(browser)
    attempt = latest_attempt(session, learner)
    assert browser.get(f"/learn/JESIP-AWARE/quizzes/other/attempts/{attempt.id}").status == 404
    assert browser.get(f"{OVERVIEW}/attempts/{attempt.id + 1000}").status == 404


def test_no_attempt_is_left_after_the_last_one(browser, learner, course_version, session):
    for _ in range(3):
        start_quiz(browser)
        attempt = latest_attempt(session, learner)
        result = send(browser, attempt, answer_values(attempt_answers.attempt_questions(attempt),
                                                      right=False))
    assert "You have used all 3 attempts at this quiz" in result.text
    assert not result.soup.find("button", string=re.compile("Try again"))
    overview = browser.get(OVERVIEW)
    assert "Attempts 3 of 3 used, 0 left" in overview.text
    assert "You have used all 3 attempts at this quiz" in overview.text
    assert not overview.soup.find("button", string=re.compile("Start quiz"))
    page = browser.submit(f"{OVERVIEW}/start", {}, form_url="/learn/JESIP-AWARE")
    assert page.h1 == "Check your understanding"
    assert any("You have used all 3 attempts" in n for n in page.notifications)
    assert submitted_count(session, learner) == 3
    assert latest_attempt(session, learner).submitted_at is not None


def test_starting_needs_the_csrf_token(browser, learner, course_version, session):
    assert browser.client.post(f"{OVERVIEW}/start").status_code == 400
    assert latest_attempt(session, learner) is None
