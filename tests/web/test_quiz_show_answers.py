"""A quiz's `show_answers` setting on the learner's pages, through the test client: which
questions were wrong, and why, are shown after every attempt; the right answers once the
learner has passed (the default, `after-pass`), after every attempt (`always`, also
written `after-fail`), or never."""

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import attempt_answers
from jesip_learn.learning.models import QuizAttempt
from tests.support.quizzes import answer_values

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
SLUG = "check-your-understanding"
OVERVIEW = f"/learn/JESIP-AWARE/quizzes/{SLUG}"
# Right answers that the wrong answers sent below never choose, so they are on a result page
# only when it shows the right answers.
ONLY_RIGHT = ("Co-locate", "Gather information and intelligence",
              "Assess risks and develop a working strategy", "Take action and review what happened")


@pytest.fixture
def publish(session, tmp_path):
    """Publish the example course with the quiz's show_answers set (None: left out)."""
    published = []

    def publish(setting):
        published.append(setting)
        copy = tmp_path / f"valid-course-{len(published)}" / "valid-course"
        shutil.copytree(VALID, copy)
        quiz_file = copy / "05-check-your-understanding.quiz.md"
        text = quiz_file.read_text()
        if setting is not None:
            text = text.replace("pass_mark: 80", f"pass_mark: 80\nshow_answers: {setting}", 1)
        quiz_file.write_text(text)
        (_folder, parsed), = courses.parse_folders(copy)
        assert parsed.ok, parsed.problems
        courses.import_parsed(session, [(_folder, parsed)])
        session.commit()
        return courses.find_version(session, "JESIP-AWARE")
    return publish


def take(browser, session, learner, *, right: bool):
    """Start (or try again), answer every question right or wrong, submit: the result page
    and the attempt's id."""
    page = browser.submit(f"{OVERVIEW}/start", {}, form_url=OVERVIEW)
    assert page.status == 200
    session.expire_all()
    attempt = session.scalar(select(QuizAttempt).where(QuizAttempt.user_id == learner.id)
                             .order_by(QuizAttempt.id.desc()).limit(1))
    values = answer_values(attempt_answers.attempt_questions(attempt), right=right)
    result = browser.submit(f"{OVERVIEW}/attempts/{attempt.id}", {**values, "action": "submit"})
    assert result.status == 200
    return result, attempt.id


def wrong_summary(page) -> str | None:
    found = page.soup.find("p", string=re.compile("wrong:"))
    found = found or next((p for p in page.soup.select("main p") if "wrong:" in p.get_text()),
                          None)
    return " ".join(found.get_text().split()) if found else None


def card_keys(page) -> list[list[str]]:
    return [[key.get_text(strip=True) for key in card.select(".govuk-summary-list__key")]
            for card in page.soup.select(".govuk-summary-card")]


def tags(page) -> list[str]:
    return [tag.get_text(strip=True) for tag in page.soup.select(".govuk-summary-card .govuk-tag")]


def shows_right_answers(page, *, all_wrong: bool) -> bool:
    """Whether the result page shows the right answers; on the page of an attempt answered
    all wrong, their text must be on it exactly then (the learner's own answers are not
    them)."""
    rows = {"Right answer" in keys for keys in card_keys(page)}
    assert len(rows) == 1, "every question shows its right answer, or none does"
    shown = rows.pop()
    if all_wrong:
        assert all((text in page.text) == shown for text in ONLY_RIGHT), \
            "the right answers' text is on the page exactly when their rows are"
    return shown


def explanations_shown(page, version) -> bool:
    quiz = courses.version_item(version, SLUG)
    return all(" ".join(re.sub("<[^>]+>", " ", q.explanation_html).split()) in page.text
               for q in quiz.questions)


@pytest.mark.parametrize(("setting", "after_a_fail", "after_a_pass"), [
    (None, False, True),
    ("after-pass", False, True),
    ("always", True, True),
    ("after-fail", True, True),
    ("never", False, False),
], ids=["default", "after-pass", "always", "after-fail", "never"])
def test_right_answers_follow_the_setting_and_wrong_ones_are_always_marked(
        browser, session, learner, publish, setting, after_a_fail, after_a_pass):
    version = publish(setting)

    failed, failed_id = take(browser, session, learner, right=False)
    assert failed.h1 == "You did not pass"
    assert tags(failed) == ["Wrong"] * 3
    assert wrong_summary(failed) == ("You got 3 questions wrong: question 1, question 2 and "
                                     "question 3.")
    assert [a["href"] for a in failed.soup.select("main p a[href^='#question-']")] == [
        "#question-1", "#question-2", "#question-3"]
    assert all(failed.soup.find(id=f"question-{n}") for n in (1, 2, 3))
    assert explanations_shown(failed, version)
    assert shows_right_answers(failed, all_wrong=True) is after_a_fail
    assert "Communicate" in failed.text  # the learner's own (wrong) answer

    passed, _passed_id = take(browser, session, learner, right=True)
    assert passed.h1 == "You passed"
    assert tags(passed) == ["Right"] * 3
    assert wrong_summary(passed) is None
    assert explanations_shown(passed, version)
    assert shows_right_answers(passed, all_wrong=False) is after_a_pass

    # Once passed, the failed attempt's page shows what the setting allows after a pass.
    again = browser.get(f"{OVERVIEW}/attempts/{failed_id}/result")
    assert again.status == 200
    assert tags(again) == ["Wrong"] * 3 and explanations_shown(again, version)
    assert shows_right_answers(again, all_wrong=True) is after_a_pass

    history = browser.get("/learn/history")
    assert history.status == 200
    assert not any(text in history.text for text in ONLY_RIGHT)


@pytest.mark.parametrize(("setting", "note"), [
    (None, "The right answers will be shown once you pass this quiz."),
    ("never", "This quiz does not show its right answers."),
])
def test_a_result_without_right_answers_says_why(browser, session, learner, publish, setting,
                                                 note):
    publish(setting)
    failed, _id = take(browser, session, learner, right=False)
    inset = failed.soup.select_one("main .govuk-inset-text")
    assert inset is not None and note in inset.get_text(" ", strip=True)


def test_a_changed_setting_applies_to_earlier_attempts(browser, session, learner, publish):
    """A trainer who stops showing the answers stops it on every attempt's page."""
    publish("always")
    failed, failed_id = take(browser, session, learner, right=False)
    assert shows_right_answers(failed, all_wrong=True)
    publish("never")
    again = browser.get(f"{OVERVIEW}/attempts/{failed_id}/result")
    assert again.status == 200 and not shows_right_answers(again, all_wrong=True)


@pytest.mark.parametrize(("setting", "said"), [
    (None, "Answers shown Once you pass: until then, each attempt shows which questions you "
           "got wrong, and why"),
    ("always", "Answers shown After each attempt"),
    ("never", "Answers shown Never: each attempt shows which questions you got wrong, and why"),
])
def test_the_overview_says_when_the_right_answers_are_shown(browser, learner, publish, setting,
                                                           said):
    publish(setting)
    page = browser.get(OVERVIEW)
    assert page.status == 200
    assert said in page.text
    assert ("You will see your score, which questions you got wrong, and why"
            + (", with the right answers." if setting == "always" else ".")) in page.text
