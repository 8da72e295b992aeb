"""Packages of stored course versions: load the version, build its package, audit it."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.packaging.build import (
    FORMATS,
    Package,
    PackageRefused,
    build_package,
    parse_for_package,
)
from jesip_learn.notifications.settings import NotificationSettingsError, site_url
from jesip_learn.records.audit import record_event


def package_version(session: Session, code: str, *, package_format: str,
                    number: int | None = None, site_url: str = "",
                    actor: User | None = None) -> Package:
    """The package of a course's published version (or version `number`); PackageRefused
    when there is no such course or version, or the format is unknown."""
    if package_format not in FORMATS:
        raise PackageRefused(f"Unknown package format '{package_format}': use one of "
                             + ", ".join(FORMATS))
    version = courses.find_version(session, code, number)
    if version is None:
        raise PackageRefused(f"No course {code}" + (f" version {number}" if number else "")
                             + (" is published" if number is None else ""))
    sources = courses.version_sources(version)
    package = build_package(parse_for_package(sources), sources, version=version.number,
                            package_format=package_format, site_url=site_url)
    record_event(session, "course.packaged", actor=actor,
                 summary=f"{version.course.code} version {version.number} as "
                         f"{FORMATS[package_format]}",
                 details={"code": version.course.code, "version": version.number,
                          "format": package_format})
    return package


def site_address(config: Mapping) -> str:
    """The site's own address (SITE_URL, else XAPI_HOMEPAGE, else https://SERVER_NAME), which
    names a cmi5 package's course as the site's xAPI statements do; "" when unknown."""
    try:
        return site_url(config)
    except NotificationSettingsError:
        return ""
