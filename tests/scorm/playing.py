"""Playing a package in Chromium as a learner would: read each module, answer the quiz
right or wrong, walk each scenario by its best path. Shared by the SCORM and cmi5 tests."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from playwright.sync_api import FrameLocator, Page

from jesip_learn.content import Course, Question, Scenario
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.packaging.build import PLAYABLE_KINDS, parse_for_package

SHIPPED_COURSES = Path(__file__).resolve().parents[2] / "courses"


@cache
def shipped_course(folder: str) -> tuple[Course, dict[str, bytes]]:
    """A shipped course as a package holds it, and its files."""
    [(_, result)] = courses.parse_folders(SHIPPED_COURSES / folder)
    return parse_for_package(result.sources), dict(result.sources)


def shipped_folders() -> list[str]:
    """The shipped courses a package can play: not one of live exercise scripts alone."""
    return [folder.name for folder in courses.course_folders(SHIPPED_COURSES)
            if any(item.kind in PLAYABLE_KINDS for item in shipped_course(folder.name)[0].items)]


def wait_ready(course: Page | FrameLocator) -> None:
    course.locator("html[data-player=ready]").wait_for(state="attached", timeout=15_000)


def visible_view(course: Page | FrameLocator, slug: str):
    return course.locator(f'[data-page="{slug}"] [data-view]:not([hidden])')


def back_to_contents(course: Page | FrameLocator) -> None:
    """The "Course contents" link a person can see. A page being left keeps its own link
    until the next page is shown, and a quiz or scenario page has one in each of its
    views, most of them hidden: the first link in the page's markup may be none of these."""
    course.locator('[data-page]:not([hidden]) a[href="#contents"]').filter(
        visible=True).first.click()


def open_item(course: Page | FrameLocator, slug: str) -> None:
    """Back to the contents page, then the item's link."""
    contents = course.locator('[data-page="contents"]')
    if not contents.is_visible():
        back_to_contents(course)
    contents.locator(f'a[href="#{slug}"]').click()


def read_module(course: Page | FrameLocator, slug: str) -> None:
    open_item(course, slug)
    section = course.locator(f'[data-page="{slug}"]')
    section.get_by_role("button", name="Mark as done and continue").click()
    # The player moves on once the learning system has the progress (cmi5 waits for the
    # record store): until then the next item would be opened from a page being left.
    section.wait_for(state="hidden", timeout=15_000)


def wrong_choice(question: Question) -> list[str]:
    wrong = [option.id for option in question.options if not option.correct]
    if question.kind == "single":
        return wrong[:1]
    return wrong or [question.options[0].id]


def answer_question(course: Page | FrameLocator, question: Question, *, right: bool) -> None:
    node = course.locator(f'[data-question="{question.id}"]')
    if question.kind == "ordering":
        order = list(question.correct_order) if right else list(reversed(question.correct_order))
        for place, option_id in enumerate(order, start=1):
            node.locator(f'[data-option="{option_id}"] select').select_option(str(place))
        return
    chosen = (sorted(question.correct_option_ids) if right else wrong_choice(question))
    for option in question.options:
        box = node.locator(f'input[value="{option.id}"]')
        if question.kind == "single":
            if option.id in chosen:
                box.check()
        else:
            box.set_checked(option.id in chosen)


def drawn_question_ids(course: Page | FrameLocator, slug: str) -> list[str]:
    return course.locator(f'[data-page="{slug}"] [data-view="attempt"] '
                          "[data-question]:not([hidden])").evaluate_all(
        "nodes => nodes.map(node => node.getAttribute('data-question'))")


def start_quiz(course: Page | FrameLocator, slug: str) -> list[str]:
    open_item(course, slug)
    section = course.locator(f'[data-page="{slug}"]')
    section.get_by_role("button", name=re.compile("quiz")).first.click()
    return drawn_question_ids(course, slug)


def answer_quiz(course: Page | FrameLocator, quiz, *, right: bool, only: int | None = None) -> None:
    """Answer the drawn questions (the first `only` of them, if given) and, when all are
    answered, submit."""
    by_id = {question.id: question for question in quiz.questions}
    drawn = drawn_question_ids(course, quiz.slug)
    for question_id in drawn[:only]:
        answer_question(course, by_id[question_id], right=right)
    if only is None:
        course.locator(f'[data-page="{quiz.slug}"]').get_by_role(
            "button", name="Submit your answers").click()


def best_path(scenario: Scenario) -> dict[str, str]:
    """For each step, the choice on the best path to a pass ending (scoring.py's rule)."""
    steps = {step.id: step for step in scenario.steps}

    @cache
    def best_from(step_id: str, visiting: frozenset[str]) -> int | None:
        step = steps.get(step_id)
        if step is None or step_id in visiting:
            return None
        if step.kind == "end":
            return 0 if step.result == "pass" else None
        found = [choice.score + rest for choice in step.choices
                 if (rest := best_from(choice.target, visiting | {step_id})) is not None]
        return max(found) if found else None

    chosen = {}
    for step in scenario.steps:
        options = [(choice.score + rest, -index, choice.id)
                   for index, choice in enumerate(step.choices)
                   if (rest := best_from(choice.target, frozenset({step.id}))) is not None]
        if options:
            chosen[step.id] = max(options)[2]
    return chosen


def walk_scenario(course: Page | FrameLocator, scenario: Scenario, *, start: bool = True) -> None:
    """Start (unless under way), take the best path (writing the model METHANE message),
    see the debrief."""
    if start:
        open_item(course, scenario.slug)
        section = course.locator(f'[data-page="{scenario.slug}"]')
        section.get_by_role("button", name=re.compile("Start the walkthrough")).click()
    choices = best_path(scenario)
    steps = {step.id: step for step in scenario.steps}
    for _ in range(4 * len(scenario.steps)):
        view = visible_view(course, scenario.slug)
        name = view.get_attribute("data-view")
        if name == "feedback":
            view.get_by_role("button", name="Continue").click()
        elif name == "step":
            step = steps[view.get_attribute("data-step")]
            if step.kind == "end":
                view.get_by_role("button", name="See your debrief").click()
            elif step.kind == "methane":
                fields = view.locator("[data-methane-field]")
                for index, line in enumerate(step.model_answer.lines):
                    fields.nth(index).fill(line.text)
                view.get_by_role("button", name="Continue").click()
            else:
                view.locator(f'[data-choice="{choices[step.id]}"]').click()
        elif name == "debrief":
            return
    raise AssertionError(f"{scenario.slug}: the walkthrough did not reach its debrief")


def items_of(course: Course, kind: str) -> list:
    return [item for item in course.items if item.kind == kind]
