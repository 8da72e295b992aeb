"""SCORM packages of every shipped course, played in Chromium inside a real SCORM run-time
(scorm-again, from npm, pinned by tests/scorm/package-lock.json): each plays to a pass
(with a reload half-way that resumes where the learner was) and to a fail, and the test
reads what the run-time recorded. The package's pages are checked with axe at 375 and
1280 px. One package per course and format, one harness, the suite's one browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jesip_learn.courses.packaging import build_package
from jesip_learn.courses.packaging.build import parse_for_package
from tests.browser.conftest import check_accessibility, save_screenshots
from tests.scorm.harness import LearningSystem
from tests.scorm.playing import (
    answer_quiz,
    back_to_contents,
    drawn_question_ids,
    items_of,
    open_item,
    read_module,
    shipped_course,
    shipped_folders,
    start_quiz,
    wait_ready,
    walk_scenario,
)

FORMATS = ("scorm12", "scorm2004")
API_NAME = {"scorm12": "API", "scorm2004": "API_1484_11"}


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    system = LearningSystem(tmp_path_factory.mktemp("scorm-lms"))
    yield system
    system.close()


@pytest.fixture(scope="module")
def packages(lms) -> dict[tuple[str, str], str]:
    """Each shipped course as each SCORM format, unpacked in the harness: (folder,
    format) → the package's path there."""
    built = {}
    for folder in shipped_folders():
        course, files = shipped_course(folder)
        for package_format in FORMATS:
            package = build_package(course, files, version=1, package_format=package_format)
            built[folder, package_format] = lms.add_package(f"{folder}-{package_format}",
                                                            package.data)
    return built


@pytest.fixture
def lms_page(desktop_chromium_browser):
    context = desktop_chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def launch(page, lms, path: str, package_format: str, saved: dict | None = None):
    """The harness page with a new run-time (holding `saved`, as an LMS would on a second
    launch) and the package in its frame."""
    page.goto(lms.url("lms/lms.html"))
    page.evaluate("""([format, saved]) => {
        const settings = {logLevel: 5, autocommit: false};
        const api = format === "scorm12" ? new Scorm12API(settings) : new Scorm2004API(settings);
        if (saved) api.loadFromJSON(saved);
        window[format === "scorm12" ? "API" : "API_1484_11"] = api;
    }""", [package_format, saved])
    page.evaluate("url => { document.getElementById('course').src = url; }",
                  lms.url(f"{path}/index.html"))
    course = page.frame_locator("#course")
    wait_ready(course)
    return course


def recorded(page, package_format: str) -> dict:
    """What the run-time holds now, as it would send it to an LMS, the same names for
    both formats."""
    api = API_NAME[package_format]
    cmi = page.evaluate(f"() => JSON.parse(JSON.stringify({api}.renderCMIToJSONObject())).cmi")
    terminated = page.evaluate(f"() => {api}.isTerminated()")
    if package_format == "scorm12":
        core = cmi["core"]
        return {"status": core["lesson_status"], "score": core["score"]["raw"],
                "exit": core["exit"], "location": core["lesson_location"],
                "suspend": cmi["suspend_data"], "time": core["session_time"],
                "terminated": terminated}
    return {"completion": cmi["completion_status"], "success": cmi["success_status"],
            "score": cmi["score"]["raw"], "scaled": cmi["score"]["scaled"],
            "exit": cmi["exit"], "location": cmi["location"], "suspend": cmi["suspend_data"],
            "time": cmi["session_time"], "terminated": terminated}


def leave(page) -> None:
    """The learner closes the course: the frame unloads, so the package finishes."""
    page.evaluate("() => { document.getElementById('course').src = 'about:blank'; }")


def resume_data(page, package_format: str) -> dict:
    """What an LMS gives a second launch of a suspended SCO."""
    data = recorded(page, package_format)
    if package_format == "scorm12":
        return {"core": {"entry": "resume", "lesson_location": data["location"],
                         "lesson_status": data["status"]}, "suspend_data": data["suspend"]}
    return {"entry": "resume", "location": data["location"], "suspend_data": data["suspend"],
            "completion_status": data["completion"]}


@pytest.mark.parametrize("package_format", FORMATS)
@pytest.mark.parametrize("folder", shipped_folders())
def test_a_course_plays_to_a_pass_and_resumes_after_a_reload(lms, packages, lms_page,
                                                              folder, package_format):
    course, _files = shipped_course(folder)
    [quiz] = items_of(course, "quiz")
    modules = items_of(course, "module")
    api = API_NAME[package_format]
    frame = launch(lms_page, lms, packages[folder, package_format], package_format)
    read_module(frame, modules[0].slug)
    drawn = start_quiz(frame, quiz.slug)
    assert len(drawn) == quiz.questions_drawn
    answer_quiz(frame, quiz, right=True, only=2)
    frame.locator(f'[data-page="{quiz.slug}"] [data-question="{drawn[0]}"] input, '
                  f'[data-page="{quiz.slug}"] [data-question="{drawn[0]}"] select').first.focus()
    leave(lms_page)
    lms_page.wait_for_function(f"() => {api}.isTerminated()")
    left = recorded(lms_page, package_format)
    assert left["exit"] == "suspend"
    assert left["location"] == quiz.slug
    assert left["suspend"]

    frame = launch(lms_page, lms, packages[folder, package_format], package_format,
                   resume_data(lms_page, package_format))
    # Back at the quiz, the same questions drawn, the answers given still there.
    assert drawn_question_ids(frame, quiz.slug) == drawn
    by_id = {question.id: question for question in quiz.questions}
    first = by_id[drawn[0]]
    if first.kind != "ordering":
        for option_id in first.correct_option_ids:
            assert frame.locator(f'[data-question="{first.id}"] '
                                 f'input[value="{option_id}"]').is_checked()
    answer_quiz(frame, quiz, right=True)
    assert "You scored" in frame.locator(f'[data-page="{quiz.slug}"] [data-score]').inner_text()
    for module in modules[1:]:
        read_module(frame, module.slug)
    for scenario in items_of(course, "scenario"):
        walk_scenario(frame, scenario)
    open_item(frame, modules[0].slug)
    back_to_contents(frame)
    # The contents page is shown after the click: wait for it, as a person would.
    expect(frame.get_by_text("Course complete")).to_be_visible()
    result = recorded(lms_page, package_format)
    if package_format == "scorm12":
        assert result["status"] == "passed"
        assert result["time"] != "0000:00:00.00"
    else:
        assert (result["completion"], result["success"]) == ("completed", "passed")
        assert float(result["scaled"]) == 1
        assert result["time"].startswith("PT")
    assert float(result["score"]) == 100
    frame.get_by_role("button", name="Save and close").click()
    lms_page.wait_for_function(f"() => {api}.isTerminated()")
    assert recorded(lms_page, package_format)["exit"] in ("", "normal")


@pytest.mark.parametrize("package_format", FORMATS)
@pytest.mark.parametrize("folder", shipped_folders())
def test_a_course_plays_to_a_fail(lms, packages, lms_page, folder, package_format):
    course, _files = shipped_course(folder)
    [quiz] = items_of(course, "quiz")
    frame = launch(lms_page, lms, packages[folder, package_format], package_format)
    start_quiz(frame, quiz.slug)
    answer_quiz(frame, quiz, right=False)
    verdict = frame.locator(f'[data-page="{quiz.slug}"] [data-view="result"] [data-quiz-verdict]')
    assert "Not passed" in verdict.inner_text()
    result = recorded(lms_page, package_format)
    if package_format == "scorm12":
        assert result["status"] == "failed"
    else:
        assert (result["completion"], result["success"]) == ("incomplete", "failed")
        assert float(result["scaled"]) == 0
    assert float(result["score"]) == 0
    leave(lms_page)
    lms_page.wait_for_function(f"() => {API_NAME[package_format]}.isTerminated()")
    assert recorded(lms_page, package_format)["exit"] == "suspend"


def test_the_package_pages_are_accessible(lms, packages, desktop_chromium_browser):
    """The first page, a module, the quiz with an error, its result, a scenario step,
    its feedback and the debrief, at 1280 and 375 px, with axe, and no sideways scroll."""
    folder = "jesip-awareness"
    course, _files = shipped_course(folder)
    [quiz] = items_of(course, "quiz")
    scenario = items_of(course, "scenario")[0]
    module = items_of(course, "module")[0]
    context = desktop_chromium_browser.new_context(viewport={"width": 1280, "height": 900},
                                           bypass_csp=True)
    page = context.new_page()
    page.goto(lms.url(f"{packages[folder, 'scorm2004']}/index.html"))
    wait_ready(page)
    violations = []

    def check(name: str) -> None:
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            violations.extend(check_accessibility(page, f"{name} at {width} px"))
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"{name} scrolls sideways at {width} px"
        save_screenshots(page, f"package-{name}")

    check("contents")
    open_item(page, module.slug)
    check("module")
    start_quiz(page, quiz.slug)
    page.get_by_role("button", name="Submit your answers").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    check("quiz-errors")
    answer_quiz(page, quiz, right=True)
    check("quiz-result")
    open_item(page, scenario.slug)
    page.locator(f'[data-page="{scenario.slug}"]').get_by_role(
        "button", name="Start the walkthrough").click()
    check("scenario-step")
    page.locator(f'[data-page="{scenario.slug}"] [data-view="step"]:not([hidden]) '
                 "[data-choice]").first.click()
    check("scenario-feedback")
    walk_scenario(page, scenario, start=False)
    check("scenario-debrief")
    context.close()
    assert not violations, "\n".join(violations)


def test_the_package_draws_and_limits_attempts_as_the_course_says(lms, lms_page):
    """A bank of three drawn two at a time, one attempt: two questions shown, and after a
    fail no second attempt, in the package as on the site."""
    sources = {
        "course.md": b"---\ntitle: Limits\ncode: LIMITS\n---\nOverview.\n",
        "01-check.quiz.md": (
            b"---\ntitle: Check\npass_mark: 100\nquestions_per_attempt: 2\nmax_attempts: 1\n"
            b"---\n\n## One?\n\n- [x] Yes\n- [ ] No\n\n## Two?\n\n- [x] Yes\n- [ ] No\n\n"
            b"## Three?\n\n1. First\n2. Second\n3. Third\n"),
    }
    course = parse_for_package(sources)
    [quiz] = course.items
    path = lms.add_package("limits-scorm2004", build_package(
        course, sources, version=1, package_format="scorm2004").data)
    frame = launch(lms_page, lms, path, "scorm2004")
    drawn = start_quiz(frame, quiz.slug)
    assert len(drawn) == 2 and set(drawn) <= {q.id for q in quiz.questions}
    answer_quiz(frame, quiz, right=False)
    section = frame.locator(f'[data-page="{quiz.slug}"]')
    assert not section.get_by_role("button", name="Try the quiz again").is_visible()
    back_to_contents(frame)
    assert frame.locator(f'[data-status="{quiz.slug}"]').inner_text() == "Not passed yet"
    frame.locator(f'a[href="#{quiz.slug}"]').click()
    expect(section.get_by_text("You have used every attempt at this quiz.")).to_be_visible()
    assert not section.get_by_role("button", name=re.compile("quiz")).is_visible()
    assert recorded(lms_page, "scorm2004")["success"] == "failed"
