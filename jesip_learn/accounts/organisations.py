"""Organisations (agencies), their areas and staff email domains."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import Area, Organisation, OrganisationDomain, Service
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.typed_text import control_character_problem

DOMAIN_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Domains many organisations share: owning such an address proves nothing about employer.
SHARED_DOMAINS = frozenset(
    {
        "nhs.net", "nhs.uk", "gov.uk", "gov.scot", "gov.wales", "llyw.cymru", "police.uk",
        "pnn.police.uk", "hscni.net", "gmail.com", "googlemail.com", "outlook.com",
        "hotmail.com", "hotmail.co.uk", "yahoo.com", "yahoo.co.uk", "icloud.com", "live.co.uk",
        "btinternet.com", "aol.com", "protonmail.com", "proton.me", "mod.uk", "mod.gov.uk",
    }
)


class OrganisationError(InputError, ValueError):
    """A problem with organisation details, named by the form field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class SeedResult:
    created: int
    updated: int
    areas_created: int


def parse_domains(text: str) -> list[str]:
    """Domains typed one per line or separated by commas or spaces, with any leading @."""
    domains = []
    for part in re.split(r"[\s,;]+", text or ""):
        domain = part.strip().lower().lstrip("@").rstrip(".")
        if domain and domain not in domains:
            domains.append(domain)
    return domains


def check_domains(
    session: Session, domains: list[str], organisation_id: int | None = None
) -> list[str]:
    for domain in domains:
        if not DOMAIN_PATTERN.match(domain):
            raise OrganisationError("domains", f"“{domain}” is not a valid email domain")
        if domain in SHARED_DOMAINS:
            raise OrganisationError(
                "domains",
                f"“{domain}” is shared by many organisations, so it cannot prove who someone "
                "works for",
            )
        owner = session.scalar(
            select(OrganisationDomain).where(OrganisationDomain.domain == domain)
        )
        if owner is not None and owner.organisation_id != organisation_id:
            raise OrganisationError(
                "domains", f"“{domain}” already belongs to {owner.organisation.name}"
            )
    return domains


def area_named(session: Session, name: str, country: str = "") -> tuple[Area, bool]:
    area = session.scalar(select(Area).where(Area.name == name))
    if area is not None:
        return area, False
    area = Area(name=name, country=country)
    session.add(area)
    return area, True


def save_organisation(
    session: Session,
    *,
    name: str,
    service: str,
    country: str = "",
    area_ids: list[int] | None = None,
    domains: list[str] | None = None,
    organisation: Organisation | None = None,
) -> Organisation:
    """Create an organisation, or update the one given, checking every rule first."""
    problem = control_character_problem(name or "", "Name")
    if problem:
        raise OrganisationError("name", problem)
    name = " ".join((name or "").split())
    if not name:
        raise OrganisationError("name", "Enter the organisation’s name")
    if len(name) > 200:
        raise OrganisationError("name", "Name must be 200 characters or fewer")
    if service not in set(Service):
        raise OrganisationError("service", "Select the organisation’s service")
    clash = session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == name.lower())
    )
    if clash is not None and clash is not organisation:
        raise OrganisationError("name", f"An organisation called “{clash.name}” already exists")
    own_id = organisation.id if organisation is not None else None
    domains = check_domains(session, domains or [], own_id)
    areas = list(session.scalars(select(Area).where(Area.id.in_(area_ids or []))))
    if organisation is None:
        organisation = Organisation(name=name, service=service, country=country)
        session.add(organisation)
    organisation.name, organisation.service, organisation.country = name, service, country
    organisation.areas = areas
    existing = {d.domain: d for d in organisation.domains}
    organisation.domains = [existing.get(d) or OrganisationDomain(domain=d) for d in domains]
    session.flush()
    return organisation


def seed_reference_organisations(session: Session) -> SeedResult:
    """Load the shipped list of UK emergency services; re-running it changes nothing."""
    created = updated = areas_created = 0
    data = resources.files("jesip_learn.data").joinpath("organisations.csv")
    with data.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            areas = []
            for area_name in filter(None, (a.strip() for a in row["areas"].split(";"))):
                area, is_new = area_named(session, area_name, row["country"])
                areas_created += is_new
                areas.append(area)
            organisation = session.scalar(
                select(Organisation).where(Organisation.name == row["name"])
            )
            if organisation is None:
                organisation = Organisation(
                    name=row["name"], service=row["service"], country=row["country"]
                )
                session.add(organisation)
                created += 1
            elif organisation.service != row["service"] or organisation.country != row["country"]:
                organisation.service, organisation.country = row["service"], row["country"]
                updated += 1
            organisation.areas = sorted(set(organisation.areas) | set(areas), key=lambda a: a.name)
            known = {d.domain for d in organisation.domains}
            for domain in parse_domains(row["email_domains"]):
                taken = session.scalar(
                    select(OrganisationDomain).where(OrganisationDomain.domain == domain)
                )
                if domain not in known and taken is None:
                    organisation.domains.append(OrganisationDomain(domain=domain))
            session.flush()
    return SeedResult(created=created, updated=updated, areas_created=areas_created)


def list_organisations(
    session: Session, *, search: str = "", service: str = "", area_id: int | None = None
) -> list[Organisation]:
    query = (
        select(Organisation)
        .options(selectinload(Organisation.areas), selectinload(Organisation.domains))
        .order_by(Organisation.name)
    )
    if search:
        query = query.where(Organisation.name.ilike(f"%{escape_like(search)}%", escape="\\"))
    if service:
        query = query.where(Organisation.service == service)
    if area_id:
        query = query.where(Organisation.areas.any(Area.id == area_id))
    return list(session.scalars(query))


def active_organisations(session: Session) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation).where(Organisation.is_active).order_by(Organisation.name)
        )
    )


def list_areas(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).order_by(Area.name)))


def organisation_for_email(session: Session, email: str) -> Organisation | None:
    domain = email.rsplit("@", 1)[-1].lower()
    found = session.scalar(select(OrganisationDomain).where(OrganisationDomain.domain == domain))
    return found.organisation if found else None


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
