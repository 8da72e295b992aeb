"""The trainers' course page, item analysis of a quiz, and a scenario's map and the choices
learners took."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from jesip_learn.content.scenario_map import plain_text
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseEditor
from jesip_learn.learning import attempts, runs
from tests.support.quizzes import answer_values

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def as_trainer(browser, make, organisation, session, version):
    """A trainer named as an editor of the course (only editors see its pages)."""
    trainer = make.user(organisation=organisation, permissions={"trainer"})
    session.add(CourseEditor(course_id=version.course_id, user_id=trainer.id, role="editor"))
    session.commit()
    browser.sign_in(trainer.email)
    return browser


def test_a_trainer_who_does_not_edit_the_course_is_refused(browser, make, organisation,
                                                          version):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    quiz = _item(version, "quiz")
    assert browser.get("/author/courses/JESIP-AWARE").status == 403
    assert browser.get(
        f"/author/courses/JESIP-AWARE/quizzes/{quiz.slug}/analysis").status == 403


def _item(version, kind):
    return next(item for item in courses.version_outline(version) if item.kind == kind)


def test_learners_cannot_reach_the_analysis(browser, make, organisation, version):
    browser.sign_in(make.user(organisation=organisation).email)
    quiz = _item(version, "quiz")
    assert browser.client.get("/author/courses/JESIP-AWARE").status_code == 403
    assert browser.client.get(
        f"/author/courses/JESIP-AWARE/quizzes/{quiz.slug}/analysis").status_code == 403


def test_the_course_page_lists_items_with_their_analysis(as_trainer, version):
    page = as_trainer.get("/author/courses/JESIP-AWARE")
    assert page.status == 200 and page.h1 == version.title
    assert "Completed by 0 people" in page.text
    assert "Item analysis" in page.text and "Map and choices taken" in page.text
    assert as_trainer.get("/author/courses/NOPE").status == 404
    module = _item(version, "module")
    assert as_trainer.get(f"/author/courses/JESIP-AWARE/quizzes/{module.slug}/analysis"
                          ).status == 404


def test_quiz_analysis_shows_how_learners_answered(as_trainer, make, organisation, session,
                                                   version):
    quiz_outline = _item(version, "quiz")
    quiz = courses.version_item(version, quiz_outline.slug)
    page = as_trainer.get(f"/author/courses/JESIP-AWARE/quizzes/{quiz.slug}/analysis")
    assert "Nobody has submitted this quiz yet" in page.text
    for number, right in enumerate((True, False, True)):
        learner = make.user(organisation=organisation, name=f"Learner {number}")
        attempt = attempts.start_attempt(session, learner, version, quiz,
                                         rng=random.Random(number))
        drawn = [question for question in quiz.questions if question.id in attempt.question_ids]
        attempts.submit_attempt(session, attempt, answer_values(drawn, right=right))
        session.commit()
    page = as_trainer.get(f"/author/courses/JESIP-AWARE/quizzes/{quiz.slug}/analysis")
    assert "3 by 3 learners: 3 on version 1" in page.text
    assert "67% of 3 attempts analysed" in page.text
    first = quiz.questions[0]
    assert page.soup.find("h2", string=lambda text: text and first.title in text) is not None


def test_scenario_page_draws_the_map_and_counts_choices(as_trainer, make, organisation,
                                                        session, version):
    outline = _item(version, "scenario")
    scenario = courses.version_item(version, outline.slug)
    url = f"/author/courses/JESIP-AWARE/scenarios/{scenario.slug}/analysis"
    page = as_trainer.get(url)
    assert page.soup.select_one("svg[role=img] title").get_text().startswith("Map of")
    # Drawn larger than its units (never shrunk to the page), in a box the keyboard reaches.
    svg = page.soup.select_one("svg.app-scenario-map__svg")
    assert float(svg["width"]) > float(svg["viewbox"].split()[2])
    box = svg.find_parent("div")
    assert (box["role"], box["tabindex"]) == ("region", "0")
    assert box["aria-label"] == f"Map of {scenario.title}"
    assert "The map in words" in page.text and "Nobody has started this scenario" in page.text
    # A choice's label shows whole where there is room, over lines (one tspan each), and
    # whole in its arrow's title always.
    first_choice = plain_text(scenario.step(scenario.start).choices[0].label_html)
    assert len(first_choice) > 40
    labels = {label.title.get_text(): label for label in page.soup.select("g.map-edge-label")}
    lines = labels[first_choice].select("text tspan")
    assert len(lines) > 1 and " ".join(line.get_text() for line in lines) == first_choice
    learner = make.user(organisation=organisation)
    run = runs.start_run(session, learner, version, scenario)
    first = scenario.step(scenario.start)
    runs.choose(session, run, scenario, first.choices[0].id)
    session.commit()
    page = as_trainer.get(url)
    assert "1 started by 1 learner" in page.text
    taken = next(row for row in page.soup.select("tbody tr")
                 if plain_text(first.choices[0].label_html) in row.get_text())
    assert "100%" in taken.get_text()


def _warnings(page) -> list[str]:
    return [" ".join(li.get_text(" ", strip=True).split())
            for li in page.soup.select(".app-warnings li")]


def test_quiz_analysis_lists_the_item_writing_warnings_above_the_figures(
        browser, make, organisation, session, tmp_path):
    copy = tmp_path / "valid-course"
    shutil.copytree(VALID, copy)
    quiz_file = copy / "05-check-your-understanding.quiz.md"
    heading = "Which principle should commanders apply first on arrival?"
    quiz_file.write_text(quiz_file.read_text().replace(
        heading, "Which principle should commanders never skip on arrival?"))
    courses.import_parsed(session, courses.parse_folders(copy))
    session.commit()
    version = courses.find_version(session, "JESIP-AWARE")
    trainer = make.user(organisation=organisation, permissions={"trainer"})
    session.add(CourseEditor(course_id=version.course_id, user_id=trainer.id, role="editor"))
    session.commit()
    browser.sign_in(trainer.email)
    page = browser.get(f"/author/courses/JESIP-AWARE/quizzes/{_item(version, 'quiz').slug}"
                       "/analysis")
    assert page.status == 200
    section = page.soup.find(id="warnings")
    assert section.get_text(strip=True) == "How the quiz is written"
    assert _warnings(page) == [
        "Line 8 (Which principle should commanders never skip on arrival?): the question asks "
        "with “never” without stressing it: learners read past a negative. Write it as "
        "**never** or in capitals, or ask the question the positive way round"]
    link = page.soup.select_one(".app-warnings li a")
    assert link["href"] == ("/author/courses/JESIP-AWARE/draft/pages/"
                            "05-check-your-understanding.quiz.md#warnings")
    figures = page.soup.find(string=lambda text: "Nobody has submitted" in text)
    assert section in figures.find_all_previous("h2")


def test_a_quiz_written_without_flaws_has_no_warnings_section(as_trainer, version):
    quiz = _item(version, "quiz")
    page = as_trainer.get(f"/author/courses/JESIP-AWARE/quizzes/{quiz.slug}/analysis")
    assert page.status == 200 and page.soup.find(id="warnings") is None


def test_scenario_analysis_lists_where_the_best_choices_give_themselves_away(as_trainer,
                                                                           version):
    """The example scenario puts its best choice first, and makes it the longest, at both of
    its decision points."""
    scenario = _item(version, "scenario")
    page = as_trainer.get(f"/author/courses/JESIP-AWARE/scenarios/{scenario.slug}/analysis")
    assert page.status == 200
    assert page.soup.find(id="warnings").get_text(strip=True) == "How the scenario is written"
    warnings = _warnings(page)
    assert [warning.split(":", 1)[0].strip() for warning in warnings] == ["Line 1", "Line 1"]
    assert "the best choice is the longest at 2 of 2 decision points" in warnings[0]
    assert "the best choice comes first at every decision point (2 of 2)" in warnings[1]
