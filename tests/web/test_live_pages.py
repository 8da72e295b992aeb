"""Live exercise pages through the Flask test client: the facilitator creates a session from
the shipped marauding-attack script, makes a join code and gives out roles; the three
control rooms join, see only what reached them, share, message, send M/ETHANE and agree a
decision; the stream resumes after Last-Event-ID; the debrief and its CSV; and the refusals:
other people, other roles, bad targets, replayed forms, after the end."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from jesip_learn.core.columns import utcnow
from jesip_learn.exercises.live import sessions
from jesip_learn.exercises.live.models import LiveSession
from tests.support.factories import make_organisation, make_user
from tests.support.live import import_live_course, live_world
from tests.support.web import Browser, app_settings

METHANE = {"methane-major_incident": "Yes: major incident and Operation Plato",
           "methane-exact_location": "Quay Bridge and Quay Street, Kingsford",
           "methane-incident_type": "Marauding terrorist attack with a van and knives",
           "methane-hazards": "Attackers not located, van on fire",
           "methane-access": "From the north-west over Castle Hill",
           "methane-casualties": "Several injured on Quay Bridge and in The Anchor",
           "methane-emergency_services": "Police armed officers on their way"}


@pytest.fixture
def app(transactional_db, tmp_path):
    from jesip_learn.factory import create_app

    return create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path,
                                   LIVE_STREAM_SECONDS=0))


def _browser(app, user) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(user.email).status == 200
    return browser


def _post(browser, url, data, page_url):
    token = browser.get(page_url).csrf_token()
    return browser.client.post(url, data={**data, "csrf_token": token})


def _form_value(page, name):
    field = page.soup.find("input", attrs={"name": name})
    return field["value"] if field else ""


def _stream(browser, live_id, last=None, **query):
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    response = browser.client.get(f"/live/{live_id}/stream", headers=headers,
                                  query_string=query)
    body = response.get_data(as_text=True)
    return response, [int(n) for n in re.findall(r"^id: (\d+)$", body, re.M)], body


@pytest.fixture
def world(session):
    world = live_world(session)
    session.commit()
    return world


def test_facilitator_creates_a_session_and_makes_a_join_code(app, session):
    import_live_course(session)
    police = make_organisation(session, name="Quay Police")
    trainer = make_user(session, organisation=police, permissions={"trainer"})
    newcomer = make_user(session, organisation=make_organisation(session, service="fire"))
    session.commit()
    browser = _browser(app, trainer)
    page = browser.get("/exercises/live")
    assert page.status == 200 and page.h1 == "Live exercises"
    script = page.soup.find("input", attrs={"name": "script"})["value"]
    response = _post(browser, "/exercises/live", {"script": script}, "/exercises/live")
    assert response.status_code == 302
    control = browser.get(response.headers["Location"])
    assert control.status == 200 and control.h1 == "Attack at Kingsford Quay"
    live_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = read = browser.client.post(f"/exercises/live/{live_id}/join-code", data={
        "hours": "2", "csrf_token": control.csrf_token()})
    assert read.status_code == 200
    code = re.search(r'id="join-code">([A-Z0-9-]+)<', page.get_data(as_text=True)).group(1)
    joiner = _browser(app, newcomer)
    bad = _post(joiner, "/live/join", {"code": "NOPE-NOPE"}, "/live/join")
    assert bad.status_code == 400
    joined = _post(joiner, "/live/join", {"code": code}, "/live/join")
    assert joined.status_code == 302 and joined.headers["Location"].endswith(f"/live/{live_id}")
    assert joiner.get(f"/live/{live_id}").h1 == "Waiting for a role"
    empty = _post(browser, "/exercises/live", {"script": "1:nothing"}, "/exercises/live")
    assert empty.status_code == 400


def test_the_exercise_end_to_end_in_the_browser_forms(app, session, world):
    live_id = world.live.id
    facilitator = _browser(app, world.facilitator)
    rooms = {role: _browser(app, person) for role, person in world.people.items()}
    control_url = f"/exercises/live/{live_id}"
    assert facilitator.get(control_url).status == 200
    assert _post(facilitator, f"{control_url}/clock", {"action": "start"},
                 control_url).status_code == 302
    # Police control hears of the first calls; fire and ambulance do not.
    police_page = rooms["police-control"].get(f"/live/{live_id}")
    assert police_page.status == 200 and police_page.h1 == "Police control room supervisor"
    assert "calls from Quay Bridge" in police_page.text
    assert "calls from Quay Bridge" not in rooms["fire-control"].get(f"/live/{live_id}").text
    # Police shares the first fact with the inter-control talk group.
    page = rooms["police-control"].get(f"/live/{live_id}")
    response = rooms["police-control"].client.post(f"/live/{live_id}/share", data={
        "csrf_token": page.csrf_token(), "share-nonce": _form_value(page, "share-nonce"),
        "share-item": "fact:attack-reported", "share-target": "inter-control"})
    assert response.status_code == 302
    for role in ("fire-control", "ambulance-control"):
        assert "men with knives" in rooms[role].get(f"/live/{live_id}").text
    # The same form again changes nothing.
    again = rooms["police-control"].client.post(f"/live/{live_id}/share", data={
        "csrf_token": page.csrf_token(), "share-nonce": _form_value(page, "share-nonce"),
        "share-item": "fact:attack-reported", "share-target": "inter-control"})
    assert again.status_code == 400 and "already been sent" in again.get_data(as_text=True)
    # An M/ETHANE message to the talk group; a message to a role that does not exist.
    page = rooms["police-control"].get(f"/live/{live_id}")
    sent = rooms["police-control"].client.post(f"/live/{live_id}/methane", data={
        "csrf_token": page.csrf_token(), "methane-nonce": _form_value(page, "methane-nonce"),
        "methane-target": "inter-control", **METHANE})
    assert sent.status_code == 302
    page = rooms["fire-control"].get(f"/live/{live_id}")
    bad = rooms["fire-control"].client.post(f"/live/{live_id}/message", data={
        "csrf_token": page.csrf_token(), "message-target": "coastguard",
        "message-text": "<script>alert(1)</script>"})
    assert bad.status_code == 400 and "no role or talk group" in bad.get_data(as_text=True)
    # Fire cannot act as police.
    as_police = rooms["fire-control"].client.post(f"/live/{live_id}/message", data={
        "csrf_token": page.csrf_token(), "message-target": "inter-control",
        "message-text": "Police here", "message-as_role": "police-control"})
    assert as_police.status_code == 400
    written = rooms["fire-control"].client.post(f"/live/{live_id}/message", data={
        "csrf_token": page.csrf_token(), "message-target": "police-control",
        "message-text": "<script>alert(1)</script>"})
    assert written.status_code == 302
    formula = rooms["fire-control"].client.post(f"/live/{live_id}/message", data={
        "csrf_token": page.csrf_token(), "message-target": "police-control",
        "message-text": "=HYPERLINK(\"http://evil.example\",\"x\")"})
    assert formula.status_code == 302
    html = rooms["police-control"].client.get(f"/live/{live_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    # The decision on the talk group, once its time comes.
    live = session.get(LiveSession, live_id)
    session.refresh(live)
    live.running_since = utcnow() - timedelta(seconds=100)
    session.commit()
    for role, browser in rooms.items():
        page = browser.get(f"/live/{live_id}")
        assert "Joint decision: How will the control rooms keep talking?" in page.text
        answer = browser.client.post(f"/live/{live_id}/decide", data={
            "csrf_token": page.csrf_token(), "decide-nonce": _form_value(page, "decide-nonce"),
            "decide-decision": "talk-group", "decide-option": "1",
            "decide-reason": f"{role}: one picture for all"})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:3000]
    assert "Agreed at" in rooms["fire-control"].get(f"/live/{live_id}").text
    # The stream: everything once, then only what came after Last-Event-ID.
    response, seen, body = _stream(rooms["fire-control"], live_id)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert seen == sorted(set(seen)) and seen
    _response, after, _body = _stream(rooms["fire-control"], live_id, last=seen[-3])
    assert after == seen[-2:]
    assert "calls from Quay Bridge" not in body
    # The end: everyone is taken to the debrief; nothing more can be sent.
    ended = _post(facilitator, f"{control_url}/clock", {"action": "end"}, control_url)
    assert ended.status_code == 302 and ended.headers["Location"].endswith("/debrief")
    for browser in rooms.values():
        debrief = browser.get(f"/live/{live_id}/debrief")
        assert debrief.status == 200 and debrief.h1 == "Debrief"
        assert "Agreed at" in debrief.text and "of 7 parts match" in debrief.text
    late = rooms["fire-control"].client.post(f"/live/{live_id}/message", data={
        "csrf_token": rooms["fire-control"].get("/account").csrf_token(),
        "message-target": "police-control", "message-text": "Too late"})
    assert late.status_code == 400 and "has ended" in late.get_data(as_text=True)
    csv = rooms["fire-control"].client.get(f"/live/{live_id}/debrief.csv")
    assert csv.status_code == 200 and "'=HYPERLINK" in csv.get_data(as_text=True)
    assert "inter-control" in csv.get_data(as_text=True)
    pdf = rooms["fire-control"].client.get(f"/live/{live_id}/debrief.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    record = rooms["fire-control"].get("/learn")
    assert record.status == 200
    # The facilitator's learning point goes to Joint Organisational Learning.
    point = _post(facilitator, f"/exercises/live/{live_id}/learning-points", {
        "text": "Open the talk group at the first call", "principle": "communicate",
        "jdm_stage": "", "for_jol": "y"}, f"/live/{live_id}/debrief")
    assert point.status_code == 302
    jol = facilitator.client.get("/exercises/learning-points.csv").get_data(as_text=True)
    assert "Open the talk group at the first call" in jol


def test_only_the_facilitator_and_participants_open_a_session(app, session, world):
    live_id = world.live.id
    other_org = make_organisation(session, name="Elsewhere Police")
    outsiders = [make_user(session, organisation=other_org),
                 make_user(session, organisation=other_org, permissions={"trainer"}),
                 make_user(session, organisation=world.facilitator.organisation,
                           permissions={"manager"}),
                 make_user(session, organisation=other_org, permissions={"admin"})]
    session.commit()
    for person in outsiders:
        browser = _browser(app, person)
        for url in (f"/live/{live_id}", f"/live/{live_id}/stream", f"/live/{live_id}/debrief",
                    f"/live/{live_id}/debrief.csv"):
            assert browser.client.get(url).status_code == 404, (person.name, url)
        status = browser.client.get(f"/exercises/live/{live_id}").status_code
        assert status in (403, 404)
        token = browser.get("/account").csrf_token()
        for action in ("share", "message", "methane", "decide"):
            assert browser.client.post(f"/live/{live_id}/{action}",
                                       data={"csrf_token": token}).status_code == 404
    # A participant cannot open the facilitator's pages.
    fire = _browser(app, world.people["fire-control"])
    assert fire.client.get(f"/exercises/live/{live_id}").status_code == 403


def test_a_role_nobody_takes_is_played_by_the_facilitator(app, session):
    world = live_world(session, assign=False)
    sessions.start(session, world.facilitator, world.live)
    session.commit()
    facilitator = _browser(app, world.facilitator)
    page = facilitator.get(f"/live/{world.live.id}?as=police-control")
    assert page.h1 == "Police control room supervisor"
    response = facilitator.client.post(f"/live/{world.live.id}/message", data={
        "csrf_token": page.csrf_token(), "message-as_role": "police-control",
        "message-target": "fire-control", "message-text": "Police control here"})
    assert response.status_code == 302
    assert "Police control here" in facilitator.get(f"/exercises/live/{world.live.id}").text
    # Playing fire control, the facilitator's stream carries what reached fire control only.
    _response, _ids, as_fire = _stream(facilitator, world.live.id, **{"as": "fire-control"})
    _response, _ids, everything = _stream(facilitator, world.live.id)
    assert "calls from Quay Bridge" in everything and "calls from Quay Bridge" not in as_fire
    assert "Police control here" in as_fire


def test_xapi_statements_for_joining_sharing_messages_decisions_and_the_end(
        transactional_db, tmp_path):
    from jesip_learn.exercises.live import actions
    from jesip_learn.factory import create_app
    from jesip_learn.xapi.models import XapiStatement

    create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path,
                            XAPI_ENDPOINT="http://127.0.0.1:9/xAPI/",
                            XAPI_HOMEPAGE="https://learn.jesip.example"))
    session = transactional_db.session()
    world = live_world(session)
    sessions.start(session, world.facilitator, world.live)
    police = actions.acting_as(world.live, world.people["police-control"])
    actions.share(session, world.live, police, item="fact:attack-reported",
                  target="inter-control")
    actions.message(session, world.live, police, text="Police here", target="fire-control")
    sessions.end(session, world.live, world.facilitator)
    session.flush()
    verbs = [row.statement["verb"]["display"]["en-US"]
             for row in session.query(XapiStatement).order_by(XapiStatement.id)]
    assert verbs.count("attended") == 3 and verbs.count("completed") == 4
    assert "shared" in verbs and "commented" in verbs
    first = session.query(XapiStatement).first().statement
    assert first["object"]["id"] == f"https://learn.jesip.example/live/{world.live.id}"
    session.close()


def test_after_an_erasure_the_debrief_shows_the_removed_wording_in_place(app, session, world):
    from jesip_learn.exercises.live import actions
    from jesip_learn.exercises.live.erasure import REMOVED

    live, start = world.live, utcnow()
    pam, fred = world.people["police-control"], world.people["fire-control"]
    sessions.start(session, world.facilitator, live, now=start)
    actions.message(session, live, actions.acting_as(live, pam), target="fire-control",
                    text="Pam Police here: Sergeant Bloggs is hurt",
                    now=start + timedelta(seconds=10))
    actions.methane(session, live, actions.acting_as(live, pam), target="inter-control",
                    texts=[f"{value} (Pam)" for value in METHANE.values()],
                    now=start + timedelta(seconds=20))
    actions.message(session, live, actions.acting_as(live, fred), target="police-control",
                    text="Fred Fire here: received", now=start + timedelta(seconds=30))
    sessions.end(session, live, world.facilitator, now=start + timedelta(seconds=60))
    admin = make_user(session, organisation=pam.organisation, permissions={"admin"})
    session.commit()
    administrator = _browser(app, admin)
    url = f"/admin/users/{pam.id}/erasure"
    page = administrator.submit(url, {"decision": "erase", "reason": "Asked by letter"})
    page = administrator.submit(url, {"decision": "erase", "reason": "Asked by letter",
                                      "confirmed": "yes"})
    assert page.status == 200 and "have been anonymised" in page.notifications[0]

    debrief = _browser(app, fred).get(f"/live/{live.id}/debrief")
    assert debrief.status == 200
    timeline = debrief.soup.find(id="timeline").find_next("ol").get_text(" ", strip=True)
    assert timeline.count(REMOVED) == 2 and "Fred Fire here: received" in timeline
    assert "Pam" not in debrief.text and "Bloggs" not in debrief.text
    assert f"by Former user {pam.id}" in debrief.text and "of 7 parts match" in debrief.text
    csv = _browser(app, fred).client.get(f"/live/{live.id}/debrief.csv")
    assert csv.status_code == 200
    assert csv.get_data(as_text=True).count(REMOVED) == 2 and "Bloggs" not in csv.get_data(
        as_text=True)
