"""Organisations: the shipped reference list and the rules for domains."""

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts.models import Area, Organisation, OrganisationDomain


def test_seeding_loads_every_uk_service_once(session):
    first = orgs.seed_reference_organisations(session)
    assert first.created == 109 and first.areas_created == 46
    again = orgs.seed_reference_organisations(session)
    assert again.created == 0 and again.updated == 0 and again.areas_created == 0
    counts = dict(session.execute(select(Organisation.service, func.count())
                                  .group_by(Organisation.service)).all())
    assert counts == {"police": 46, "fire": 49, "ambulance": 14}
    btp = session.scalar(select(Organisation).where(Organisation.name.like("British Transport%")))
    assert btp.areas == [] and btp.area_names == "National"


def test_seeded_domains_find_their_organisation(session):
    orgs.seed_reference_organisations(session)
    domain = session.scalar(select(OrganisationDomain).order_by(OrganisationDomain.domain))
    found = orgs.organisation_for_email(session, f"someone@{domain.domain.upper()}")
    assert found is domain.organisation


def test_seeding_keeps_what_administrators_added(session):
    orgs.seed_reference_organisations(session)
    kent = session.scalar(select(Organisation).where(Organisation.name == "Kent Police"))
    orgs.save_organisation(session, name=kent.name, service=kent.service, country=kent.country,
                           area_ids=[a.id for a in kent.areas],
                           domains=[d.domain for d in kent.domains] + ["kent-extra.example"],
                           organisation=kent)
    orgs.seed_reference_organisations(session)
    assert "kent-extra.example" in {d.domain for d in kent.domains}


@pytest.mark.parametrize(("text", "expected"), [
    ("a.example, @B.Example\n c.example ;a.example", ["a.example", "b.example", "c.example"]),
    ("", []),
])
def test_domains_are_read_from_free_text(text, expected):
    assert orgs.parse_domains(text) == expected


def test_an_area_groups_organisations(session):
    area, created = orgs.area_named(session, "Testshire LRF", "England")
    assert created
    session.flush()
    org = orgs.save_organisation(session, name="Testshire Fire", service="fire",
                                 area_ids=[area.id])
    assert orgs.list_organisations(session, area_id=area.id) == [org]
    assert orgs.area_named(session, "Testshire LRF")[1] is False
    assert session.scalar(select(func.count()).select_from(Area)) == 1


def test_search_treats_wildcards_literally(session):
    orgs.save_organisation(session, name="100% Responders", service="other")
    orgs.save_organisation(session, name="Other Responders", service="other")
    assert [o.name for o in orgs.list_organisations(session, search="100%")] == ["100% Responders"]
