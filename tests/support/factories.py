"""Factories for organisations and users: valid by default, every field overridable."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from jesip_learn import organisations, users
from jesip_learn.models import Organisation, User

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def make_organisation(session: Session, *, name: str | None = None, service: str = "police",
                      domains: list[str] | None = None, area_ids: list[int] | None = None,
                      country: str = "England") -> Organisation:
    number = next(_numbers)
    return organisations.save_organisation(
        session, name=name or f"Testshire Service {number}", service=service, country=country,
        domains=domains or [], area_ids=area_ids or [])


def make_user(session: Session, *, organisation: Organisation | None = None,
              email: str | None = None, name: str | None = None, password: str = PASSWORD,
              command_role: str = "operational", permissions: set[str] | None = None) -> User:
    number = next(_numbers)
    organisation = organisation or make_organisation(session)
    return users.create_user(
        session, email=email or f"person{number}@example.org", name=name or f"Person {number}",
        password=password, organisation=organisation, command_role=command_role,
        permissions=permissions or set())
