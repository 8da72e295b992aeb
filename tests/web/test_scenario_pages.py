"""Scenario walkthrough pages: the overview, one step per page, feedback, the METHANE form
and its errors, the debrief, starting again, and other people's runs."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning.models import ScenarioRun

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
OVERVIEW = "/learn/JESIP-AWARE/scenarios/flooding"
METHANE_LABELS = [
    "M – Major incident declared?", "E – Exact location", "T – Type of incident",
    "H – Hazards present or suspected", "A – Access routes that are safe to use",
    "N – Number, type and severity of casualties",
    "E – Emergency services present and those required",
]
METHANE_NAMES = ["major_incident", "exact_location", "incident_type", "hazards", "access",
                 "casualties", "emergency_services"]
MESSAGE = dict(zip(METHANE_NAMES, [
    "Not declared yet", "14 Mill Lane, Riverside", "Residential properties flooding",
    "Fast-flowing water, electricity", "Mill Lane closed at the bridge, use Station Road",
    "", "One fire appliance on scene, water rescue team requested"], strict=True))


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


@pytest.fixture
def learner(make, organisation, browser, course_version):
    user = make.user(organisation=organisation, name="Sam Scenario")
    browser.sign_in(user.email)
    return user


def start(browser):
    """Press Start (or Continue) on the overview; returns the step page and its URL."""
    response = browser.submit(f"{OVERVIEW}/start", {}, form_url=OVERVIEW,
                              follow_redirects=False)
    assert response.status_code == 302
    url = response.headers["Location"]
    return browser.get(url), url


def press(browser, run_url, page, label):
    """Press the choice button with this label on a step page."""
    button = page.soup.find("button", attrs={"name": "choice"},
                            string=lambda s: s and s.strip() == label)
    assert button is not None, f"no choice {label!r} on {page.h1}"
    step = page.soup.find("input", attrs={"name": "step"})["value"]
    return browser.submit(f"{run_url}/choose", {"choice": button["value"], "step": step},
                          form_url=run_url)


def only_run(session):
    session.expire_all()
    run, = session.scalars(select(ScenarioRun))
    return run


def test_the_overview_offers_a_start(browser, learner):
    page = browser.get(OVERVIEW)
    assert page.status == 200
    assert page.title == "Rising water at Riverside – JESIP Awareness – JESIP Learn"
    assert page.h1 == "Rising water at Riverside"
    form = page.soup.find("form", action=f"{OVERVIEW}/start")
    assert form.find("button").get_text(strip=True) == "Start"
    assert "Your walkthroughs" not in page.text


def test_looking_at_the_overview_saves_nothing(browser, learner, session):
    browser.get(OVERVIEW)
    assert session.scalars(select(ScenarioRun)).all() == []


def test_a_step_shows_one_step_with_its_choices_as_buttons(browser, learner):
    page, url = start(browser)
    assert re.fullmatch(r"/learn/JESIP-AWARE/scenarios/flooding/runs/\d+", url)
    assert page.title == "02:10, the first call – Rising water at Riverside – JESIP Learn"
    assert page.h1 == "02:10, the first call"
    assert page.soup.select_one(".govuk-caption-l").get_text(strip=True) == (
        "Rising water at Riverside")
    assert "elderly neighbour" in page.text
    form = page.soup.find("form", action=f"{url}/choose")
    assert form.find("input", attrs={"name": "step"})["value"] == "first-call"
    buttons = form.find_all("button", attrs={"name": "choice"})
    assert [b.get_text(strip=True) for b in buttons] == [
        "Ask the caller for an exact location and what they can see",
        'Send the nearest appliance to "the river"']
    assert all(b["type"] == "submit" for b in buttons)
    assert "first things every service needs" not in page.text  # feedback comes after


def test_a_choice_shows_its_feedback_before_moving_on(browser, learner, session):
    page, url = start(browser)
    page = press(browser, url, page, "Ask the caller for an exact location and what they "
                 "can see")
    assert page.title == "Feedback on your choice – Rising water at Riverside – JESIP Learn"
    assert page.h1 == "Feedback on your choice"
    assert "Ask the caller for an exact location" in page.text
    assert "first things every service needs" in page.text
    continue_link = page.soup.find("a", string=lambda s: s and s.strip() == "Continue")
    assert continue_link["href"] == url
    assert only_run(session).path == [["first-call", "1"], ["exact-location", None]]
    page = browser.get(continue_link["href"])
    assert page.h1 == "Location confirmed"


def test_a_choice_without_feedback_goes_straight_on(browser, learner):
    page, url = start(browser)
    page = press(browser, url, page, "Ask the caller for an exact location and what they "
                 "can see")
    page = press(browser, url, browser.get(url),
                 "Share the call with police and ambulance control rooms now")
    assert page.h1 == "Tell the other control rooms"


def test_a_replayed_choice_does_not_advance_twice(browser, learner, session):
    page, url = start(browser)
    data = {"choice": "1", "step": "first-call"}
    browser.submit(f"{url}/choose", data, form_url=url)
    page = browser.submit(f"{url}/choose", data, form_url=url)
    assert page.h1 == "Feedback on your choice"  # the first press's feedback, again
    assert page.notifications == []
    assert only_run(session).path == [["first-call", "1"], ["exact-location", None]]


ANSWERED_ELSEWHERE = ("This step was already answered in another tab, so the answer you "
                      "gave here was not saved. The walkthrough carries on from where it "
                      "has got to.")


def test_a_different_choice_from_another_tab_is_not_saved_and_says_so(browser, learner,
                                                                      session):
    _page, url = start(browser)
    browser.submit(f"{url}/choose", {"choice": "1", "step": "first-call"}, form_url=url)
    page = browser.submit(f"{url}/choose", {"choice": "2", "step": "first-call"},
                          form_url=url)
    assert page.status == 200
    assert page.notifications == [ANSWERED_ELSEWHERE]
    assert page.h1 == "Location confirmed"  # where the run has got to
    assert page.soup.find("input", attrs={"name": "step"})["value"] == "exact-location"
    assert only_run(session).path == [["first-call", "1"], ["exact-location", None]]


def test_a_choice_from_another_tab_after_a_fail_ending_shows_the_ending(browser, learner,
                                                                        session):
    page, url = start(browser)
    press(browser, url, page, "Ask the caller for an exact location and what they can see")
    browser.submit(f"{url}/choose", {"choice": "2", "step": "exact-location"}, form_url=url)
    page = browser.submit(f"{url}/choose", {"choice": "1", "step": "exact-location"},
                          form_url=url)
    assert page.status == 200
    assert page.notifications == [ANSWERED_ELSEWHERE]
    assert page.h1 == "A slow start"
    assert page.soup.find("a", string=lambda s: s and s.strip() == "See your debrief")
    run = only_run(session)
    assert run.path[-2:] == [["exact-location", "2"], ["delay", None]]
    assert run.result == "fail"


def test_a_different_methane_message_from_another_tab_is_not_saved(browser, learner,
                                                                   session):
    url = at_methane(browser)
    browser.submit(f"{url}/methane", {**MESSAGE, "step": "methane-message"}, form_url=url)
    other = {**MESSAGE, "hazards": "Something else", "step": "methane-message"}
    page = browser.submit(f"{url}/methane", other, form_url=url)
    assert page.notifications == [ANSWERED_ELSEWHERE]
    assert page.h1 == "Everyone safe"
    assert only_run(session).methane["methane-message"][3] == (
        "Fast-flowing water, electricity")


def test_a_methane_message_sent_twice_reads_as_sent_once(browser, learner, session):
    url = at_methane(browser)
    data = {**MESSAGE, "step": "methane-message"}
    browser.submit(f"{url}/methane", data, form_url=url)
    page = browser.submit(f"{url}/methane", data, form_url=url)
    assert page.notifications == []
    assert page.h1 == "Everyone safe"


def test_a_choice_that_is_not_offered_is_an_error(browser, learner, session):
    _page, url = start(browser)
    page = browser.submit(f"{url}/choose", {"choice": "7", "step": "first-call"},
                          form_url=url)
    assert page.title.startswith("Error: 02:10, the first call")
    assert page.errors == ["Select one of the choices on this page"]
    assert page.error_links() == {"Select one of the choices on this page": "choice"}
    assert only_run(session).path == [["first-call", None]]


def test_the_methane_step_has_seven_labelled_fields(browser, learner):
    page, url = start(browser)
    press(browser, url, page, "Ask the caller for an exact location and what they can see")
    page = press(browser, url, browser.get(url),
                 "Share the call with police and ambulance control rooms now")
    form = page.soup.find("form", action=f"{url}/methane")
    labels = [" ".join(label.get_text(" ", strip=True).split())
              for label in form.find_all("label")]
    assert labels == METHANE_LABELS
    for label in form.find_all("label"):
        assert form.find(id=label["for"]).name == "textarea"
    assert form.find("input", attrs={"name": "step"})["value"] == "methane-message"
    assert form.find("button").get_text(strip=True) == "Continue"
    assert not page.soup.find_all("button", attrs={"name": "choice"})
    assert "14 Mill Lane, Riverside" not in page.text  # the model answer waits for the debrief


def at_methane(browser):
    page, url = start(browser)
    press(browser, url, page, "Ask the caller for an exact location and what they can see")
    press(browser, url, browser.get(url),
          "Share the call with police and ambulance control rooms now")
    return url


def test_an_empty_methane_message_is_shown_as_an_error(browser, learner, session):
    url = at_methane(browser)
    empty = dict.fromkeys(METHANE_NAMES, "  ")
    page = browser.submit(f"{url}/methane", {**empty, "step": "methane-message"}, form_url=url)
    assert page.title.startswith("Error: Tell the other control rooms")
    assert page.errors == ["Write at least one part of your METHANE message"]
    assert page.error_links() == {"Write at least one part of your METHANE message":
                                  "major_incident"}
    assert page.soup.select_one("#major_incident-error") is None  # no part is required
    fieldset = page.soup.find("fieldset")
    assert "methane-error" in fieldset["aria-describedby"]
    assert page.soup.select_one("#methane-error").get_text(" ", strip=True) == (
        "Error: Write at least one part of your METHANE message")
    assert only_run(session).path[-1] == ["methane-message", None]


def test_a_methane_part_that_is_too_long_keeps_what_was_written(browser, learner, session):
    url = at_methane(browser)
    data = {**MESSAGE, "hazards": "water " * 100, "step": "methane-message"}
    page = browser.submit(f"{url}/methane", data, form_url=url)
    assert page.errors == [
        "H – Hazards present or suspected must be 500 characters or fewer"]
    assert page.error_links()[page.errors[0]] == "hazards"
    assert page.soup.find("textarea", id="exact_location").get_text() == (
        "14 Mill Lane, Riverside")
    run = only_run(session)
    assert run.methane == {} and run.path[-1] == ["methane-message", None]


def test_a_methane_message_leads_to_the_ending_and_the_debrief(browser, learner, session):
    url = at_methane(browser)
    page = browser.submit(f"{url}/methane", {**MESSAGE, "step": "methane-message"},
                          form_url=url)
    assert page.h1 == "Everyone safe"
    assert "water rescue team reaches the resident" in page.text
    debrief_link = page.soup.find("a", string=lambda s: s and s.strip() == "See your debrief")
    assert debrief_link["href"] == f"{url}/debrief"
    assert not page.soup.find("form", action=f"{url}/choose")
    run = only_run(session)
    assert run.result == "pass" and run.methane["methane-message"][0] == "Not declared yet"


def test_the_debrief_of_the_best_path(browser, learner):
    url = at_methane(browser)
    browser.submit(f"{url}/methane", {**MESSAGE, "step": "methane-message"}, form_url=url)
    page = browser.get(f"{url}/debrief")
    assert page.title == "Debrief – Rising water at Riverside – JESIP Learn"
    assert page.h1 == "Your debrief"
    summary = summary_rows(page.soup.select_one(".govuk-summary-list"))
    assert summary["Result"].startswith("Passed")
    assert summary["Points"] == "4 out of a best possible 4"
    assert summary["Ending"] == "Everyone safe"
    path = [" ".join(li.get_text(" ", strip=True).split())
            for li in page.soup.select("ol.govuk-list--number > li")]
    assert len(path) == 3
    assert path[0].startswith("02:10, the first call You chose: Ask the caller")
    assert "first things every service needs" in path[0] and path[0].endswith("2 points")
    assert path[2].startswith("Tell the other control rooms You sent your METHANE message")
    jdm, principles = (summary_rows(dl) for dl in page.soup.select(".govuk-summary-list")[1:3])
    assert jdm == {"Your decisions used": "Gather information and intelligence",
                   "You missed": "None: you used every stage this scenario offers"}
    assert principles["Your decisions used"] == "Communicate"

    table = page.soup.select_one("table.govuk-table")
    rows = [[" ".join(c.get_text(" ", strip=True).split()) for c in tr.find_all(["th", "td"])]
            for tr in table.select("tbody tr")]
    assert [row[0].rsplit(" ", 1)[0] for row in rows] == METHANE_LABELS
    assert rows[1] == ["E – Exact location Covered", "14 Mill Lane, Riverside",
                       "14 Mill Lane, Riverside"]
    assert rows[5] == ["N – Number, type and severity of casualties Missed",
                       "You left this empty", "one elderly resident unaccounted for"]
    assert "You covered 6 of 7 parts." in page.text
    assert page.soup.find("form", action=f"{url}/start-again")


def summary_rows(dl) -> dict[str, str]:
    return {" ".join(row.dt.get_text(" ", strip=True).split()):
            " ".join(row.dd.get_text(" ", strip=True).split())
            for row in dl.select(".govuk-summary-list__row")}


def test_a_fail_ending_shows_feedback_then_the_debrief(browser, learner, session):
    page, url = start(browser)
    page = press(browser, url, page, "Ask the caller for an exact location and what they "
                 "can see")
    page = press(browser, url, browser.get(url), "Wait until the first crew reports back")
    assert page.h1 == "Feedback on your choice"
    assert "Waiting leaves the other services without the same picture." in page.text
    assert "What happened next: A slow start" in page.text
    link = page.soup.find("a", string=lambda s: s and s.strip() == "See your debrief")
    page = browser.get(link["href"])
    summary = summary_rows(page.soup.select_one(".govuk-summary-list"))
    assert summary["Result"].startswith("Not passed")
    assert summary["Points"] == "2 out of a best possible 4"
    principles = summary_rows(page.soup.select(".govuk-summary-list")[2])
    assert principles["You missed"] == "Communicate"
    assert page.soup.find("table") is None  # no METHANE message on this path


def test_start_again_keeps_the_old_run_in_the_history(browser, learner, session):
    page, url = start(browser)
    press(browser, url, page, "Ask the caller for an exact location and what they can see")
    press(browser, url, browser.get(url), "Wait until the first crew reports back")
    response = browser.submit(f"{url}/start-again", {}, form_url=f"{url}/debrief",
                              follow_redirects=False)
    new_url = response.headers["Location"]
    assert new_url != url
    assert browser.get(new_url).h1 == "02:10, the first call"
    session.expire_all()
    assert len(session.scalars(select(ScenarioRun)).all()) == 2

    overview = browser.get(OVERVIEW)
    assert overview.soup.find("form", action=f"{OVERVIEW}/start").find("button").get_text(
        strip=True) == "Continue"
    rows = [" ".join(tr.get_text(" ", strip=True).split())
            for tr in overview.soup.select("table tbody tr")]
    assert len(rows) == 2
    assert "In progress" in rows[0] and "Continue" in rows[0]
    assert "Not passed" in rows[1] and "2 out of 4 points" in rows[1] and "View debrief" in rows[1]
    assert overview.soup.find("a", href=f"{url}/debrief")


def test_continue_on_the_overview_resumes_the_current_step(browser, learner):
    page, url = start(browser)
    press(browser, url, page, "Ask the caller for an exact location and what they can see")
    page, again = start(browser)
    assert again == url and page.h1 == "Location confirmed"


def test_someone_elses_run_is_not_found(browser, learner, make, organisation, session):
    _page, url = start(browser)
    browser.sign_out()
    browser.sign_in(make.user(organisation=organisation).email)
    for path in ("", "/feedback", "/debrief"):
        assert browser.get(f"{url}{path}").status == 404
    response = browser.submit(f"{url}/choose", {"choice": "1", "step": "first-call"},
                              form_url=OVERVIEW)
    assert response.status == 404
    assert browser.submit(f"{url}/start-again", {}, form_url=OVERVIEW).status == 404
    assert only_run(session).path == [["first-call", None]]


def test_a_run_under_another_address_is_not_found(browser, learner):
    _page, url = start(browser)
    run_id = url.rsplit("/", 1)[1]
    assert browser.get(f"/learn/JESIP-AWARE/scenarios/other/runs/{run_id}").status == 404
    assert browser.get(f"/learn/OTHER/scenarios/flooding/runs/{run_id}").status == 404


def test_unknown_scenarios_are_not_found(browser, learner):
    assert browser.get("/learn/JESIP-AWARE/scenarios/nope").status == 404
    assert browser.get("/learn/JESIP-AWARE/scenarios/check-your-understanding").status == 404


def test_signed_out_people_are_sent_to_sign_in(client, course_version):
    response = client.get(OVERVIEW)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_feedback_page_before_any_choice_goes_to_the_step(browser, learner):
    _page, url = start(browser)
    response = browser.client.get(f"{url}/feedback")
    assert response.status_code == 302 and response.headers["Location"].endswith(url)


def test_a_choice_without_the_form_token_saves_nothing(browser, learner, session):
    _page, url = start(browser)
    response = browser.client.post(f"{url}/choose", data={"choice": "1", "step": "first-call"})
    assert response.status_code == 400
    assert only_run(session).path == [["first-call", None]]
