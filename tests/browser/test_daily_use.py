"""Fit for daily use, in Chromium at phone and desktop widths with axe: a learner who has
used every quiz attempt is told whom to ask, and their manager gives more from the
person's training record; a manager adds a person, who shows as invited; a manager
accepts a course's proposed requirement for their organisation."""

from __future__ import annotations

import random
import re
import shutil
import uuid

from playwright.sync_api import expect
from sqlalchemy import delete, select

from jesip_learn.accounts.models import User
from jesip_learn.compliance.models import RequirementAcceptance
from jesip_learn.content.scenario_map import LABEL_WIDTH
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course
from jesip_learn.learning import attempt_answers, attempt_lookup, attempts, progress
from tests.browser.conftest import (
    FIXTURE_COURSE,
    answer_quiz,
    check_accessibility,
    look_at,
    save_screenshots,
    sign_in,
)
from tests.support.quizzes import answer_values

SLUG = "check-your-understanding"


def use_every_attempt(database, user_id: int, code: str) -> None:
    with database.write_session() as session:
        user = session.get(User, user_id)
        version = courses.find_version(session, code)
        quiz = courses.version_item(version, SLUG)
        for number in range(quiz.max_attempts):
            attempt = attempts.start_attempt(session, user, version, quiz,
                                             random.Random(number))
            attempts.submit_attempt(session, attempt, answer_values(
                attempt_answers.attempt_questions(attempt), right=False))


def test_a_learner_out_of_attempts_is_helped_by_their_manager(
        new_context, live_server, example_course, make_account):
    url, problems = live_server.url, []
    learner = make_account("Stuart Stuck")
    manager = make_account("Mina Manager", permissions={"manager"})
    use_every_attempt(live_server.database, learner.id, example_course)

    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, learner.email)
    page.goto(f"{url}/learn/{example_course}")
    expect(page.locator("main")).to_contain_text("Attempts used up")
    look_at(page, "attempts-used-up-course", problems)
    page.get_by_role("link", name="See who can give you more attempts").click()
    expect(page.locator("main")).to_contain_text("Mina Manager, your manager")
    look_at(page, "attempts-used-up-quiz", problems)

    helper = new_context(bypass_csp=True).new_page()
    sign_in(helper, url, manager.email)
    helper.goto(f"{url}/manage/learners/{learner.id}")
    helper.get_by_role("link", name="JESIP Awareness: Check your understanding").click()
    expect(helper.get_by_role("heading", level=1)).to_have_text("More attempts for Stuart Stuck")
    look_at(helper, "attempts-grant", problems)
    helper.get_by_label("2").check()
    helper.get_by_role("button", name="Give more attempts").click()
    expect(helper.locator(".govuk-notification-banner")).to_contain_text(
        "Stuart Stuck has 2 more attempts at Check your understanding.")
    look_at(helper, "attempts-granted", problems)

    page.reload()
    expect(page.get_by_role("button", name="Start quiz")).to_be_visible()
    assert problems == []


def test_a_manager_adds_a_person_who_shows_as_invited(new_context, live_server, make_account):
    url, problems = live_server.url, []
    manager = make_account("Max Manager", permissions={"manager"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, manager.email)
    page.goto(f"{url}/manage/approvals")
    page.get_by_role("link", name="Add a person").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a person")
    look_at(page, "add-person", problems)
    page.get_by_role("button", name="Add and send the invitation").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the person’s full name")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the person’s command role")
    look_at(page, "add-person-errors", problems)
    email = f"ivy.{uuid.uuid4().hex[:8]}@example.org"
    page.get_by_label("Full name").fill("Ivy Invited")
    page.get_by_label("Work email address").fill(email)
    page.get_by_label("Tactical commander").check()
    page.get_by_role("button", name="Add and send the invitation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Ivy Invited has been added")
    look_at(page, "add-person-added", problems)
    assert [mail.to for mail in live_server.outbox if mail.to == email] == [email]
    with live_server.database.session() as session:
        person = session.scalar(select(User).where(User.email == email))
        assert person.shown_status == "invited"
        person_id = person.id
    page.goto(f"{url}/manage/learners/{person_id}")
    expect(page.locator("main")).to_contain_text("Invited: has not set a password yet")
    assert problems == []


def test_a_manager_accepts_a_proposed_requirement(new_context, live_server, make_account,
                                                   tmp_path):
    url, problems = live_server.url, []
    folder = tmp_path / "proposed" / "course"
    shutil.copytree(FIXTURE_COURSE, folder)
    course_md = folder / "course.md"
    # Its own code and title: the live server is shared with other modules' tests.
    course_md.write_text(course_md.read_text().replace("JESIP-AWARE", "KENT-PROPOSED")
                         .replace("title: JESIP Awareness", "title: Kent flood awareness"))
    trainer = make_account("Tom Trainer", permissions={"trainer"})
    with live_server.database.write_session() as session:
        courses.import_parsed(session, courses.parse_folders(folder.parent),
                              actor=session.get(User, trainer.id), source="editor")
    manager = make_account("Rae Manager", permissions={"manager"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, manager.email)
    page.goto(f"{url}/manage/compliance")
    notice = page.get_by_role("link", name=re.compile(r"proposed requirements?"))
    # The dashboard's own width at 375 px is another change's: here, only the notice.
    problems += check_accessibility(page, "dashboard with proposals")
    save_screenshots(page, "proposed-requirement-dashboard")
    notice.click()
    expect(page.get_by_role("heading", name="Proposed requirements")).to_be_visible()
    look_at(page, "proposed-requirements", problems)
    page.get_by_role("button", name=f"Accept KENT-PROPOSED as required in "
                                    f"{manager.organisation}").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"KENT-PROPOSED is now required for {manager.organisation}")
    look_at(page, "proposed-requirement-accepted", problems)
    # Other modules count the home organisation's required courses: leave it as it was.
    with live_server.database.write_session() as session:
        session.execute(delete(RequirementAcceptance).where(
            RequirementAcceptance.course_id == select(Course.id).where(
                Course.code == "KENT-PROPOSED").scalar_subquery()))
    assert problems == []


def test_the_smaller_pages_at_both_widths(new_context, live_server, example_course,
                                          make_account):
    """Each page the smaller fixes changed, looked at with axe at 375 and 1280 px."""
    url, problems = live_server.url, []
    learner = make_account("Lou Learner")
    manager = make_account("Meg Manager", permissions={"manager"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, learner.email)
    page.goto(f"{url}/account")
    look_at(page, "account-own-details", problems)
    page.get_by_role("link", name="Change your name").click()
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Save your name").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your full name")
    look_at(page, "account-name-error", problems)
    page.goto(f"{url}/account/command-role")
    page.get_by_label("Tactical commander").check()
    page.get_by_role("button", name="Ask for the change").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("request has been sent")
    look_at(page, "account-role-requested", problems)

    with live_server.database.write_session() as session:
        user = session.get(User, learner.id)
        version = courses.find_version(session, example_course)
        for item in version.items:
            if item.kind == "module":
                progress.complete_item(session, user, version, item.slug)
    page.goto(f"{url}/learn/{example_course}/quizzes/{SLUG}")
    page.get_by_role("button", name=re.compile("Start quiz|Continue quiz")).click()
    with live_server.database.session() as session:
        attempt = attempt_lookup.open_attempt(session, session.get(User, learner.id),
                                              courses.find_version(session, example_course).course,
                                              SLUG)
        quiz = attempt_answers.attempt_quiz(attempt)
        drawn = [q for q in quiz.questions if q.id in attempt.question_ids]
    answer_quiz(page, type("Drawn", (), {"questions": drawn}), right=True)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You passed")
    expect(page.get_by_role("button", name=re.compile("^Continue to "))).to_be_visible()
    look_at(page, "quiz-passed-continue", problems)

    helper = new_context(bypass_csp=True).new_page()
    sign_in(helper, url, manager.email)
    helper.goto(f"{url}/manage/transfers")
    expect(helper.locator("main")).to_contain_text("Change of command role")
    look_at(helper, "role-change-requests", problems)
    helper.goto(f"{url}/account/notifications")
    look_at(helper, "notification-preferences-digest-off", problems)
    assert problems == []


def test_the_exercise_organisations_are_grouped_with_a_search(new_context, live_server,
                                                              make_account):
    url, problems = live_server.url, []
    trainer = make_account("Tara Trainer", permissions={"trainer"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, trainer.email)
    page.goto(f"{url}/exercises/new")
    look_at(page, "exercise-organisations-grouped", problems)
    page.get_by_label("Find an organisation").fill("kent")
    expect(page.get_by_label("Kent Police", exact=True)).to_be_visible()
    expect(page.get_by_label("Essex Police", exact=True)).to_be_hidden()
    expect(page.locator("summary", has_text="Ambulance")).to_be_hidden()
    look_at(page, "exercise-organisations-search", problems)
    assert problems == []


def test_the_administrators_navigation_fits_one_line(new_context, live_server, make_account):
    url, problems = live_server.url, []
    admin = make_account("Ada Admin", permissions={"admin", "trainer", "manager"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, admin.email)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{url}/manage/people")
    tops = page.eval_on_selector_all(".govuk-service-navigation__item",
                                     "items => items.map(i => i.getBoundingClientRect().top)")
    look_at(page, "people", problems)
    assert len(tops) == 8 and len(set(tops)) == 1, tops
    assert problems == []


def test_the_scenario_map_shows_whole_at_desktop_width(new_context, live_server,
                                                       example_course, make_account):
    url, problems = live_server.url, []
    admin = make_account("Max Admin", permissions={"admin"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, admin.email)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{url}/author/courses/{example_course}/draft/pages/"
              "06-flooding.scenario.md")
    box = page.locator(".app-scenario-map .app-chart__scroll")
    expect(box).to_be_visible()
    # Drawn at a size its words can be read at, the map scrolls inside its own box, never
    # the page; "Fit the map to the page" shows it whole.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.get_by_text("Fit the map to the page").click()
    overflow = box.evaluate("b => b.scrollWidth - b.clientWidth")
    assert overflow <= 0, f"the fitted map is {overflow}px wider than its box"
    look_at(page, "scenario-map-in-editor", problems)
    assert problems == []


def test_the_scenario_maps_choice_labels_show_whole_over_lines(new_context, live_server,
                                                                example_course, make_account):
    url, problems = live_server.url, []
    admin = make_account("Max Admin", permissions={"admin"})
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, admin.email)
    page.set_viewport_size({"width": 1280, "height": 800})
    response = page.goto(f"{url}/author/courses/{example_course}/scenarios/flooding/analysis")
    assert response.status == 200
    labels = page.eval_on_selector_all(
        "g.map-edge-label", """groups => groups.map(g => ({
            whole: g.querySelector('title').textContent,
            lines: [...g.querySelectorAll('tspan')].map(t => [t.textContent,
                                                              t.getComputedTextLength()])}))""")
    first = "Ask the caller for an exact location and what they can see"
    shown = {label["whole"]: " ".join(text for text, _ in label["lines"]) for label in labels}
    assert shown[first] == first
    # In the type the browser draws, a forward arrow's lines fit between the columns.
    back = "Call the caller back for an exact location"
    widths = [width for label in labels if label["whole"] != back
              for _, width in label["lines"]]
    assert widths and max(widths) <= LABEL_WIDTH, widths
    look_at(page, "scenario-map-analysis", problems)
    assert problems == []
