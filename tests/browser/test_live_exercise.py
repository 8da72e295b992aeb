"""The shipped marauding-attack script run live in Chromium with four browser contexts: a
police trainer facilitates; the police control room supervisor (on a phone, 375 px), the fire
control room supervisor (a desktop) and the ambulance control room supervisor (JavaScript off,
with the Refresh button) join with a code. An event reaches only police control; police
shares the Operation Plato fact with the inter-control talk group and the other two see it;
police sends an M/ETHANE message, marked against the model; the three agree a joint decision;
the facilitator ends the exercise; the debrief shows each of these with times; the exercise
is in each participant's record and counts in compliance. axe checks every page at 1280 px
and 375 px, the pages without JavaScript too (their HTML, run through axe in a page that can
run it: `_axe_without_javascript`)."""

from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from http.cookiejar import CookieJar

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlalchemy import select

from jesip_learn.accounts.administration import create_user
from jesip_learn.accounts.models import Organisation, Permission, User
from jesip_learn.compliance.person_status import person_statuses
from jesip_learn.compliance.report_filters import ReportFilters, today_in_london
from jesip_learn.exercises.live import actions, sessions
from jesip_learn.exercises.live import log as live_log
from jesip_learn.exercises.live.models import LiveSession
from jesip_learn.exercises.models import ExerciseRequirement
from tests.browser.conftest import (
    Account,
    check_accessibility,
    save_screenshots,
    sign_in,
)
from tests.support.factories import PASSWORD
from tests.support.live import live_world

WIDTHS = (1280, 375)
METHANE = ("Yes: major incident and Operation Plato declared",
           "Quay Bridge and Quay Street, Kingsford",
           "Marauding terrorist attack: a van driven into people, then knives",
           "Attackers not located; van on fire at the north end of Quay Bridge",
           "From the north-west over Castle Hill",
           "Several injured on Quay Bridge and in The Anchor",
           "Police armed officers on their way; fire and ambulance to an RVP")


def _account(database, service: str, name: str, permissions=frozenset()) -> Account:
    email = f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@example.org"
    with database.write_session() as session:
        organisation = session.scalars(select(Organisation).where(
            Organisation.service == service, Organisation.is_active)
            .order_by(Organisation.name)).first()
        user = create_user(session, email=email, name=name, password=PASSWORD,
                           organisation=organisation, command_role="control-room",
                           permissions=set(permissions))
        session.flush()
        return Account(id=user.id, email=email, name=name, password=PASSWORD,
                       organisation=organisation.name)


@pytest.fixture(scope="module")
def cast(live_server):
    database = live_server.database
    return {
        "facilitator": _account(database, "police", "Farah Facilitator", {Permission.TRAINER}),
        "police-control": _account(database, "police", "Pavel Police"),
        "fire-control": _account(database, "fire", "Freya Fire"),
        "ambulance-control": _account(database, "ambulance", "Anwar Ambulance"),
    }


def _axe(page: Page, name: str, problems: list[str]) -> None:
    """axe at both widths (the page as it is now), and screenshots to look at."""
    original = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems.extend(check_accessibility(page, f"{name} at {width}px"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (
            f"{name} scrolls sideways at {width}px")
    page.set_viewport_size(original)
    save_screenshots(page, f"live-{name}")


SCRIPT_ELEMENT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.S | re.I)


def _axe_without_javascript(page: Page, checker: Page, name: str, problems: list[str]) -> None:
    """axe on a page loaded with JavaScript off, which cannot run axe itself.

    Opening the same address with JavaScript on would give another page (live.js and
    app.js change it), so instead the HTML the browser built without script
    (`page.content()`) is put into `checker`, a page of the same site with JavaScript on,
    with every <script> element taken out so that nothing changes it there, and a <base> so
    that its addresses mean what they meant. The checks before axe make sure it is the same
    page, styled as it was: same heading, same text, its style sheets loaded, none of the
    classes the site's script adds, and no <noscript> (whose content a page with script
    would not show)."""
    html = page.content()
    assert "<noscript" not in html.lower(), f"{name}: <noscript> would hide content from axe"
    html, _count = SCRIPT_ELEMENT.subn("", html)
    html = re.sub(r"<head([^>]*)>", lambda m: f'<head{m.group(1)}><base href="{page.url}">',
                  html, count=1)
    for width in WIDTHS:
        checker.set_viewport_size({"width": width, "height": 800})
        checker.set_content(html, wait_until="load")
        assert checker.locator("h1").inner_text() == page.locator("h1").inner_text(), name
        assert _words(checker.locator("body")) == _words(page.locator("body")), name
        assert checker.evaluate("""() => {
            const links = document.querySelectorAll("link[rel=stylesheet]");
            const sheets = [...document.styleSheets];
            return links.length > 0 && sheets.length === links.length
                && sheets.every((sheet) => sheet.cssRules.length > 0)
                && !document.querySelector("script")
                && !document.body.classList.contains("js-enabled");
        }"""), f"{name}: the copy is not the page as it was without JavaScript"
        problems.extend(check_accessibility(checker, f"{name} (no JavaScript) at {width}px"))
        assert checker.evaluate("document.documentElement.scrollWidth") <= width, (
            f"{name} (no JavaScript) scrolls sideways at {width}px")
    save_screenshots(page, f"live-{name}-no-javascript")


# What Chromium says when a navigation of the page's own cuts off a reload.
_CUT_OFF = ("ERR_ABORTED", "Not attached to an active page")


def _reload(page: Page) -> None:
    """Reload the page, once any reload live.js began by itself at the same moment (an
    entry that changes the page's forms) has cut this one off."""
    attempts = 5
    for attempt in range(attempts):
        try:
            page.reload()
            return
        except PlaywrightError as error:
            if not any(sign in str(error) for sign in _CUT_OFF) or attempt == attempts - 1:
                raise
            # Chromium may still be swapping the page's document for the new one.
            page.wait_for_timeout(200 * (attempt + 1))
            page.wait_for_load_state("load")


def _settled(page: Page, shown) -> None:
    """Reload the page now and wait for `shown`: an entry that changes the page's forms
    reloads it by itself (live.js) just after it appears, and a check running then would be
    cut off by the navigation. Reloaded, the page holds every entry, and its stream starts
    after the last."""
    _reload(page)
    expect(shown).to_be_visible()


def _words(element) -> str:
    # The text of the elements, whatever the width lays it out as.
    return " ".join(element.text_content().split())


def _shift_clock(database, live_id: int, seconds: int) -> None:
    """As if the clock had run `seconds` longer: the test does not wait three minutes."""
    with database.write_session() as session:
        live = session.get(LiveSession, live_id)
        live.running_since -= timedelta(seconds=seconds)


def test_the_marauding_attack_played_by_three_control_rooms(live_server, new_context, cast):
    base, database = live_server.url, live_server.database
    problems: list[str] = []
    facilitator = new_context(bypass_csp=True).new_page()
    sign_in(facilitator, base, cast["facilitator"].email)
    facilitator.goto(f"{base}/exercises/live")
    _axe(facilitator, "new-session", problems)
    facilitator.get_by_label("Attack at Kingsford Quay").check()
    facilitator.get_by_role("button", name="Create the session").click()
    expect(facilitator.get_by_role("heading", level=1)).to_have_text("Attack at Kingsford Quay")
    live_id = int(re.search(r"/exercises/live/(\d+)", facilitator.url).group(1))
    facilitator.get_by_label("Hours it lasts").fill("2")
    facilitator.get_by_role("button", name="Make a join code").click()
    code = facilitator.locator("#join-code").inner_text()
    _axe(facilitator, "join-code", problems)

    rooms: dict[str, Page] = {}
    for role, options in (("police-control", {"viewport": {"width": 375, "height": 740}}),
                          ("fire-control", {}),
                          ("ambulance-control", {"java_script_enabled": False})):
        page = new_context(bypass_csp=True, **options).new_page()
        sign_in(page, base, cast[role].email)
        page.goto(f"{base}/live/join")
        page.get_by_label("Join code").fill(code)
        page.get_by_role("button", name="Join", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Waiting for a role")
        rooms[role] = page
    _axe(rooms["fire-control"], "waiting-for-a-role", problems)
    # A page of the site with JavaScript on, for axe on the copies of the page without it.
    checker = new_context(bypass_csp=True).new_page()
    checker.goto(f"{base}/healthz")
    _axe_without_javascript(rooms["ambulance-control"], checker, "waiting-for-a-role", problems)

    facilitator.goto(f"{base}/exercises/live/{live_id}")
    titles = {"police-control": "Police control room supervisor",
              "fire-control": "Fire control room supervisor",
              "ambulance-control": "Ambulance control room supervisor"}
    for role, title in titles.items():
        name = cast[role].name
        facilitator.get_by_label(f"Role of {name}").select_option(label=title)
        facilitator.get_by_role("button", name=f"Give the role to {name}").click()
    _axe(facilitator, "lobby", problems)
    facilitator.get_by_role("button", name="Start the exercise").click()
    expect(facilitator.locator("#live-state")).to_have_text("running")

    # The first calls reach police control only; the JavaScript pages reload by themselves.
    police, fire, ambulance = (rooms[r] for r in titles)
    expect(police.get_by_role("heading", name="22:10, calls from Quay Bridge")).to_be_visible(
        timeout=15_000)
    ambulance.get_by_role("link", name="Refresh").click()
    expect(ambulance.get_by_role("heading", level=1)).to_have_text(titles["ambulance-control"])
    facilitator.get_by_role("button", name="Release “A second location”").click()
    expect(police.get_by_role("heading", name="A second location")).to_be_visible(timeout=15_000)
    _reload(fire)
    ambulance.get_by_role("link", name="Refresh").click()
    for other in (fire, ambulance):
        expect(other.get_by_role("heading", name="22:10, calls from Quay Bridge")).to_have_count(0)
        expect(other.get_by_role("heading", name="A second location")).to_have_count(0)

    # Three minutes on: Operation Plato reaches police, who shares it with the talk group.
    _shift_clock(database, live_id, 185)
    expect(police.get_by_role("heading", name="22:13, Operation Plato")).to_be_visible(
        timeout=20_000)
    # A release reloads the page by itself a moment after it shows: axe would be cut off.
    _settled(police, police.get_by_role("heading", name="22:13, Operation Plato"))
    _axe(police, "police-feed", problems)
    police.get_by_label("What to share").select_option(
        label="Key fact: The police have declared Operation Plato and a major incident")
    police.locator("#share-target").select_option(label="Inter-control talk group")
    police.get_by_role("button", name="Share", exact=True).click()
    expect(fire.get_by_text("The police have declared Operation Plato").first).to_be_visible(
        timeout=15_000)
    ambulance.get_by_role("link", name="Refresh").click()
    expect(ambulance.get_by_text("The police have declared Operation Plato").first).to_be_visible()
    _axe_without_javascript(ambulance, checker, "ambulance-feed", problems)

    # The M/ETHANE message, the seven labelled fields.
    police.locator("#methane-target").select_option(label="Inter-control talk group")
    for index, text in enumerate(METHANE):
        police.locator("textarea[name^='methane-']").nth(index).fill(text)
    police.get_by_role("button", name="Send M/ETHANE message").click()
    expect(fire.get_by_role("heading", name="M/ETHANE message", exact=True)).to_be_visible(
        timeout=15_000)

    # The joint decision on the talk group, agreed by all three.
    for role, page in rooms.items():
        if role == "ambulance-control":
            page.get_by_role("link", name="Refresh").click()
        else:
            _reload(page)
        page.get_by_label(re.compile("Open the inter-control talk group now")).check()
        page.get_by_label("Your reason, in one line").fill(f"{titles[role]}: one picture")
        page.get_by_role("button", name="Send your answer").click()
        expect(page.get_by_text("Your answer has been sent")).to_be_visible()
    # The decision's outcome reloads the others' pages by themselves, as a release does.
    _settled(fire, fire.get_by_text(re.compile(r"Agreed at \d\d:\d\d")))
    _axe(fire, "decision-log", problems)
    expect(ambulance.get_by_text(re.compile(r"Agreed at \d\d:\d\d"))).to_be_visible()
    _axe_without_javascript(ambulance, checker, "decision-log", problems)
    facilitator.goto(f"{base}/exercises/live/{live_id}")
    _axe(facilitator, "control-timeline", problems)

    # The end: the debrief for everyone.
    facilitator.get_by_role("button", name="End the exercise").click()
    expect(facilitator.get_by_role("heading", level=1)).to_have_text("Debrief")
    _axe(facilitator, "debrief", problems)
    ambulance.get_by_role("link", name="Refresh").click()
    for page in (police, fire, ambulance):
        if "/debrief" not in page.url:
            page.goto(f"{base}/live/{live_id}/debrief")
        expect(page.get_by_role("heading", level=1)).to_have_text("Debrief")
        facts = page.locator("#facts + div table")
        plato_rows = facts.locator("tr", has_text="Operation Plato and a major incident")
        expect(plato_rows).to_have_count(2)
        expect(plato_rows.first).to_contain_text("shared by Police control room supervisor")
        expect(plato_rows.first).to_contain_text(re.compile(r"\d\d:\d\d"))
        expect(page.get_by_text(re.compile(r"Sent at \d\d:\d\d by Pavel Police"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"of 7 parts match the model answer"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"Agreed at \d\d:\d\d"))).to_be_visible()
    _axe(police, "debrief-participant", problems)
    _axe_without_javascript(ambulance, checker, "debrief-participant", problems)

    # In each participant's record, and counted in compliance.
    with database.write_session() as session:
        rule = ExerciseRequirement(months=12)
        session.add(rule)
        session.flush()
        for role in titles:
            person = session.get(User, cast[role].id)
            row = next(r for r in person_statuses(
                session, person, ReportFilters(as_of=today_in_london()))
                if r.course_code == "EXERCISE-12")
            assert row.state == "in-date", role
        session.delete(rule)
    for page in (police, ambulance):
        page.goto(f"{base}/learn")
        expect(page.get_by_role("cell", name="Attack at Kingsford Quay")).to_be_visible()
    _axe(police, "my-training", problems)
    assert problems == [], "\n".join(problems)


# --- a stream cut and resumed ---------------------------------------------------------------


class _Reader:
    """A participant's stream over a real connection, read event by event."""

    def __init__(self, opener, url: str, last: int | None = None):
        headers = {"Accept": "text/event-stream"}
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the test server
        self.response = opener.open(request, timeout=15)

    def ids(self, count: int) -> list[int]:
        found, current = [], None
        while len(found) < count:
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                current = int(line[4:])
            elif line == "" and current is not None:
                found.append(current)
                current = None
        return found

    def close(self) -> None:
        self.response.close()


def _signed_in_opener(base: str, email: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    opener.open(f"{base}/sign-in", data=form.encode()).read()
    return opener


def test_a_cut_stream_resumes_after_last_event_id(live_server):
    database, base = live_server.database, live_server.url
    with database.write_session() as session:
        world = live_world(session, suffix=f" {uuid.uuid4().hex[:6]}")
        sessions.start(session, world.facilitator, world.live)
        live_id, facilitator_id = world.live.id, world.facilitator.id
        police_email = world.people["police-control"].email

    def send(text: str) -> None:
        with database.write_session() as session:
            live = session.get(LiveSession, live_id)
            actions.send_extra(session, live, session.get(User, facilitator_id), title=text,
                               text=text, roles=["police-control"])

    opener = _signed_in_opener(base, police_email)
    url = f"{base}/live/{live_id}/stream"
    first = _Reader(opener, url)
    before = first.ids(2)  # the start, and the first calls
    send("One")
    started = time.monotonic()
    before += first.ids(1)
    assert time.monotonic() - started < 2  # announced, not found by polling
    first.close()  # the connection is cut
    for text in ("Two", "Three"):
        send(text)  # sent while the participant was away
    second = _Reader(opener, url, last=before[-1])
    after = second.ids(2)
    send("Four")
    after += second.ids(1)
    second.close()
    every = before + after
    assert every == sorted(set(every)), "nothing twice, in order"
    with database.session() as session:
        expected = [e.seq for e in live_log.entries(session, session.get(LiveSession, live_id))
                    if "police-control" in e.audience]
    assert every == expected, "nothing missed"
