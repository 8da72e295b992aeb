"""Administration and approvals: who may reach them, and what they change."""

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.columns import utcnow
from jesip_learn.records.models import AuditEvent


@pytest.fixture
def as_admin(browser, admin):
    browser.sign_in(admin.email)
    return browser


ADMIN_PAGES = ["/admin/users", "/admin/organisations", "/admin/organisations/new"]


@pytest.mark.parametrize("path", ADMIN_PAGES + ["/manage/approvals"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("permissions", [set(), {"trainer"}, {"manager"}])
def test_only_administrators_reach_administration(browser, make, organisation, path, permissions):
    user = make.user(organisation=organisation, permissions=permissions)
    browser.sign_in(user.email)
    page = browser.get(path)
    assert page.status == 403 and page.h1 == "You do not have permission to see this page"


def test_learners_cannot_reach_approvals(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation).email)
    assert browser.get("/manage/approvals").status == 403


def test_users_page_lists_and_filters(as_admin, make, organisation, other_organisation):
    make.user(organisation=other_organisation, name="Fiona Fire", permissions={"trainer"})
    page = as_admin.get("/admin/users")
    assert page.title == "Users – JESIP Learn" and page.h1 == "Users"
    assert "Fiona Fire" in page.text and "Alex Admin" in page.text
    page = as_admin.get(f"/admin/users?organisation={other_organisation.id}")
    assert "Fiona Fire" in page.text and "Alex Admin" not in page.text
    page = as_admin.get("/admin/users?q=fiona&permission=trainer&status=active")
    assert "1 user found" in page.text
    page = as_admin.get("/admin/users?command_role=operational")
    assert "2 users found" in page.text
    page = as_admin.get("/admin/users?command_role=strategic")
    assert "0 users found" in page.text
    page = as_admin.get("/admin/users?permission=bogus&status=bogus&page=abc&organisation=x")
    assert page.status == 200 and "2 users found" in page.text


def test_users_page_tags_each_status_in_words_and_colour(as_admin, make, organisation,
                                                        session):
    people = {name: make.user(organisation=organisation, name=name) for name in
              ("Una Unconfirmed", "Pat Pending", "Dee Deactivated", "Ivy Invited")}
    people["Una Unconfirmed"].email_confirmed_at = None
    people["Pat Pending"].approved_at = None
    people["Dee Deactivated"].is_active = False
    people["Ivy Invited"].invited_at = utcnow()
    session.flush()
    page = as_admin.get("/admin/users")
    assert page.status == 200
    tags = {row.select_one("td a").contents[0].strip(): (tag.get_text(strip=True), tag["class"])
            for row in page.soup.select("tbody tr") for tag in row.select(".govuk-tag")}
    assert tags == {
        "Alex Admin": ("Active", ["govuk-tag", "govuk-tag--green"]),
        "Una Unconfirmed": ("Email not confirmed", ["govuk-tag", "govuk-tag--grey"]),
        "Pat Pending": ("Waiting for approval", ["govuk-tag", "govuk-tag--yellow"]),
        "Dee Deactivated": ("Deactivated", ["govuk-tag", "govuk-tag--red"]),
        "Ivy Invited": ("Invited", ["govuk-tag", "govuk-tag--blue"]),
    }
    offered = [(option["value"], option.get_text(strip=True))
               for option in page.soup.select("select#status option")]
    assert offered == [("", "Any status"), ("active", "Active"),
                       ("pending", "Waiting for approval"),
                       ("unconfirmed", "Email not confirmed"),
                       ("deactivated", "Deactivated"), ("invited", "Invited")]
    invited = as_admin.get("/admin/users?status=invited")
    assert invited.status == 200
    assert [a.contents[0].strip() for a in invited.soup.select("tbody td a")] == ["Ivy Invited"]
    chosen = invited.soup.select_one("select#status option[selected]")
    assert chosen["value"] == "invited"


def test_users_page_paginates(as_admin, make, organisation):
    for number in range(55):
        make.user(organisation=organisation, name=f"Bulk Person {number:02d}",
                  password="a shared test passphrase")
    page = as_admin.get("/admin/users")
    assert "56 users found" in page.text
    assert page.soup.select_one(".govuk-pagination__next a")["href"].endswith("page=2")
    assert len(as_admin.get("/admin/users?page=2").soup.select("tbody tr")) == 6


def test_an_administrator_changes_permissions_and_it_is_audited(as_admin, make, organisation,
                                                                 session, admin):
    person = make.user(organisation=organisation, name="Tom Trainee")
    page = as_admin.get(f"/admin/users/{person.id}")
    assert page.h1 == "Edit Tom Trainee"
    page = as_admin.submit(f"/admin/users/{person.id}", {
        "name": "Tom Trainer", "organisation": str(organisation.id), "command_role": "tactical",
        "permissions": ["learner", "trainer"], "manager_area": "", "is_active": "y"})
    assert "Changes to Tom Trainer’s account have been saved." in page.notifications
    session.expire_all()
    changed = session.get(User, person.id)
    assert changed.permissions == {"learner", "trainer"} and changed.command_role == "tactical"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.updated"))
    assert event.actor_id == admin.id and event.details["after"]["permissions"] == [
        "learner", "trainer"]


def test_an_administrator_cannot_lock_themselves_out(as_admin, admin, organisation, session):
    page = as_admin.submit(f"/admin/users/{admin.id}", {
        "name": admin.name, "organisation": str(organisation.id), "command_role": "staff",
        "permissions": ["learner"], "manager_area": "", "is_active": "y"})
    assert page.errors == ["You cannot remove your own administrator permission"]
    session.expire_all()
    assert session.get(User, admin.id).is_admin


def test_moving_a_manager_does_not_carry_their_management_over(as_admin, make, organisation,
                                                                other_organisation, session):
    manager = make.user(organisation=organisation, name="Mia Mover", permissions={"manager"})
    form = {"name": "Mia Mover", "organisation": str(other_organisation.id),
            "command_role": "staff", "permissions": ["learner", "manager"], "manager_area": "",
            "is_active": "y"}
    page = as_admin.submit(f"/admin/users/{manager.id}", form)
    assert page.status == 200
    assert page.error_links() == {
        "Moving Mia Mover to Southshire Fire and Rescue Service ends their management of "
        "Northshire Police. Untick Manager to move them, then give the permission again if "
        "they are to manage in Southshire Fire and Rescue Service.": "permissions"}
    page = as_admin.submit(f"/admin/users/{manager.id}", {**form, "permissions": ["learner"]})
    assert "Changes to Mia Mover’s account have been saved." in page.notifications
    session.expire_all()
    moved = session.get(User, manager.id)
    assert moved.organisation_id == other_organisation.id and moved.manager_grant() is None
    assert session.scalar(select(AuditEvent.summary).where(
        AuditEvent.action == "account.manager_ended")) == (
        "Stopped managing Northshire Police on moving to Southshire Fire and Rescue Service")


def test_editing_a_missing_user_is_not_found(as_admin):
    assert as_admin.get("/admin/users/999999").status == 404


def test_add_an_organisation_with_domains(as_admin, session):
    page = as_admin.get("/admin/organisations/new")
    assert page.h1 == "Add an organisation"
    page = as_admin.submit("/admin/organisations/new", {
        "name": "Testshire County Council", "service": "other", "country": "England",
        "domains": "@Testshire.gov.uk\nmail.testshire.gov.uk", "is_active": "y"})
    assert "Testshire County Council has been saved." in page.notifications
    org = session.scalar(select(Organisation).where(
        Organisation.name == "Testshire County Council"))
    assert [d.domain for d in org.domains] == ["mail.testshire.gov.uk", "testshire.gov.uk"]


@pytest.mark.parametrize(("data", "error"), [
    ({"name": ""}, "Enter the organisation’s name"),
    ({"service": ""}, "Select the organisation’s service"),
    ({"domains": "nhs.net"}, "“nhs.net” is shared by many organisations"),
    ({"domains": "not a domain!"}, "“not” is not a valid email domain"),
    ({"name": "northshire police"}, "An organisation called “Northshire Police” already exists"),
    ({"domains": "northshire.police.uk"}, "“northshire.police.uk” already belongs to Northshire"),
])
def test_organisation_form_problems(as_admin, session, data, error):
    form = {"name": "New Responder", "service": "other", "country": "England", "domains": "",
            "is_active": "y"}
    form.update(data)
    page = as_admin.submit("/admin/organisations/new", form)
    assert page.errors and page.errors[0].startswith(error), page.errors
    assert session.scalar(select(Organisation).where(Organisation.name == "New Responder")) is None


def test_organisations_page_filters(as_admin, organisation, other_organisation):
    page = as_admin.get("/admin/organisations?service=fire")
    assert "Southshire Fire" in page.text and "Northshire Police" not in page.text


def test_a_manager_approves_their_own_organisations_registrations(browser, make, organisation,
                                                                   other_organisation, session):
    manager = make.user(organisation=organisation, permissions={"manager"})
    waiting = make.user(organisation=organisation, name="Wendy Waiting")
    elsewhere = make.user(organisation=other_organisation, name="Otto Elsewhere")
    for person in (waiting, elsewhere):
        session.get(User, person.id).approved_at = None
    session.commit()
    browser.sign_in(manager.email)
    page = browser.get("/manage/approvals")
    assert "Wendy Waiting" in page.text and "Otto Elsewhere" not in page.text
    page = browser.submit(f"/manage/approvals/{waiting.id}/approve", {},
                          form_url="/manage/approvals")
    assert "Wendy Waiting can now sign in. We have emailed them." in page.notifications
    response = browser.client.post(f"/manage/approvals/{elsewhere.id}/approve",
                                   data={"csrf_token": page.csrf_token()})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(User, waiting.id).approved_at is not None
    assert session.get(User, elsewhere.id).approved_at is None


def test_refusing_a_registration_deactivates_it(browser, make, organisation, session):
    manager = make.user(organisation=organisation, permissions={"manager"})
    waiting = make.user(organisation=organisation, name="Rory Refused")
    session.get(User, waiting.id).approved_at = None
    session.commit()
    browser.sign_in(manager.email)
    browser.submit(f"/manage/approvals/{waiting.id}/reject", {}, form_url="/manage/approvals")
    session.expire_all()
    assert session.get(User, waiting.id).status == "deactivated"


def test_the_administration_page_leads_to_every_part_of_running_the_site(browser, make,
                                                                          organisation):
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser.sign_in(admin.email)
    page = browser.get("/admin/")
    assert page.h1 == "Administration"
    links = {a.get_text(strip=True): a["href"] for a in page.soup.select("main h2 a")}
    assert links == {"Users": "/admin/users", "Organisations": "/admin/organisations",
                     "Audit log": "/admin/audit", "Emails": "/admin/notifications",
                     "Learning record store": "/admin/xapi",
                     "Sign-in with organisation accounts": "/admin/single-sign-on"}
    for href in links.values():
        assert browser.get(href).status == 200
    nav = page.soup.select_one(".govuk-service-navigation__item--active a")
    assert nav.get_text(strip=True) == "Administration"
