"""Course versions in the database: import (all or nothing), export, and look-ups.

An import of changed content makes a new version of the course, holding its files byte for
byte and its items parsed and rendered; an import of unchanged content is a no-op.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from jesip_learn.accounts.models import User
from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.content import (
    FileUrls,
    ParseResult,
    Problem,
    parse_course_files,
    parse_course_folder,
)
from jesip_learn.content.serialise import item_from_data, item_to_data
from jesip_learn.core.columns import utcnow
from jesip_learn.courses.models import Course, CourseFile, CourseItem, CourseVersion, FileBlob
from jesip_learn.records.audit import record_event

# Course files are addressed by the content hash of the version that ships them, so their
# URLs never change meaning and can be cached for good.
COURSE_FILE_URL = "/course-files/{content_hash}/{path}"
# What to parse a course with for import: its HTML then points at the files as stored, so
# the import stores the HTML the parse made and never renders the pages a second time.
VERSION_FILE_URLS = FileUrls(COURSE_FILE_URL)


def file_url_resolver(content_hash: str) -> FileUrls:
    return FileUrls(COURSE_FILE_URL, content_hash)


class ImportRefused(Exception):
    """Nothing was imported; `problems` says why, one line each."""

    def __init__(self, problems: Iterable[Problem | str]):
        self.problems = tuple(str(p) for p in problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    code: str
    version_number: int
    changed: bool


def course_folders(path: Path) -> list[Path]:
    """A course folder itself, or the course folders inside a folder of courses."""
    path = Path(path)
    if (path / "course.md").is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(child for child in path.iterdir()
                  if child.is_dir() and (child / "course.md").is_file())


def parse_folders(path: Path) -> list[tuple[str, ParseResult]]:
    """Each course folder parsed as import stores it (before any database work: a parse
    never runs inside the transaction that imports it)."""
    return [(folder.name, parse_course_folder(folder, resolve_file=VERSION_FILE_URLS))
            for folder in course_folders(path)]


def import_parsed(
    session: Session,
    parsed: list[tuple[str, ParseResult]],
    *,
    actor: User | None = None,
    source: str = "folder",
    needs_renewal: bool = False,
    note: str = "",
) -> list[ImportOutcome]:
    """Import every course or none: any problem in any course refuses the lot."""
    problems = [problem for _slug, result in parsed for problem in result.problems]
    codes = [result.course.code for _slug, result in parsed if result.course]
    repeated = {code for code in codes if codes.count(code) > 1}
    problems += [f"course code {code} is used by more than one course folder"
                 for code in sorted(repeated)]
    if not parsed:
        problems.append("no course found: a course folder holds a course.md")
    if problems:
        raise ImportRefused(problems)
    return [
        _import_one(session, slug, result, actor=actor, source=source,
                    needs_renewal=needs_renewal, note=note)
        for slug, result in parsed
    ]


def _import_one(session: Session, slug: str, result: ParseResult, *, actor, source,
                needs_renewal, note) -> ImportOutcome:
    course = session.scalar(select(Course).where(Course.code == result.course.code))
    if course is None:
        course = Course(code=result.course.code, slug=slug)
        session.add(course)
        session.flush()
    latest = _latest_version(session, course)
    if latest is not None and latest.content_hash == result.content_hash:
        return ImportOutcome(course.code, latest.number, changed=False)
    course.slug = slug
    if result.file_urls != file_url_resolver(result.content_hash):
        # Parsed some other way (a preview's links): parse again so that images point at
        # their stored copies. Parse with VERSION_FILE_URLS beforehand to avoid this.
        result = parse_course_files(result.sources, display_root=slug,
                                    resolve_file=file_url_resolver(result.content_hash))
    version = _new_version(session, course, result, number=(latest.number + 1) if latest else 1,
                           actor=actor, source=source, needs_renewal=needs_renewal, note=note)
    course.published_version = version
    session.flush()
    if source == "folder" and actor is None:
        # Put in the course folder by whoever runs the site: its required_for stands.
        requirement_acceptance.accept_from_command_line(session, course)
    record_event(session, "course.published", actor=actor,
                 summary=f"{course.code} version {version.number}",
                 details={"code": course.code, "version": version.number,
                          "content_hash": version.content_hash, "source": source,
                          "needs_renewal": needs_renewal})
    return ImportOutcome(course.code, version.number, changed=True)


def _latest_version(session: Session, course: Course) -> CourseVersion | None:
    return session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id)
                          .order_by(CourseVersion.number.desc()).limit(1))


def _new_version(session: Session, course: Course, result: ParseResult, *, number: int, actor,
                 source: str, needs_renewal: bool, note: str) -> CourseVersion:
    parsed = result.course
    version = CourseVersion(
        course=course, number=number, content_hash=result.content_hash, title=parsed.title,
        summary=parsed.summary, minutes=parsed.minutes, validity_months=parsed.validity_months,
        required_services=list(parsed.required_for.services),
        required_roles=list(parsed.required_for.roles), overview_html=parsed.overview_html,
        needs_renewal=needs_renewal, published_at=utcnow(),
        published_by_id=actor.id if actor else None, source=source, note=note,
    )
    session.add(version)
    version.items = [
        CourseItem(slug=item.slug, position=item.position, kind=item.kind, title=item.title,
                   minutes=getattr(item, "minutes", None), content=item_to_data(item))
        for item in parsed.items
    ]
    version.files = [CourseFile(path=path, blob=_blob(session, data))
                     for path, data in sorted(result.sources.items())]
    return version


def _blob(session: Session, data: bytes) -> FileBlob:
    digest = hashlib.sha256(data).hexdigest()
    blob = session.get(FileBlob, digest)
    if blob is None:
        blob = FileBlob(sha256=digest, size=len(data), data=data)
        session.add(blob)
    return blob


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseSummary:
    code: str
    title: str
    version: int | None
    published_at: object
    versions: int


def list_courses(session: Session) -> list[CourseSummary]:
    courses = session.scalars(select(Course).options(
        selectinload(Course.published_version)).order_by(Course.code))
    counts = dict(session.execute(select(CourseVersion.course_id, func.count())
                                  .group_by(CourseVersion.course_id)).all())
    return [
        CourseSummary(code=c.code, title=c.title,
                      version=c.published_version.number if c.published_version else None,
                      published_at=c.published_version.published_at
                      if c.published_version else None,
                      versions=counts.get(c.id, 0))
        for c in courses
    ]


def version_with_hash(session: Session, content_hash: str) -> CourseVersion | None:
    return session.scalar(select(CourseVersion).where(CourseVersion.content_hash == content_hash)
                          .limit(1))


def find_version(session: Session, code: str, number: int | None = None) -> CourseVersion | None:
    """The published version of a course, or the version with that number."""
    course = session.scalar(select(Course).where(func.upper(Course.code) == code.upper())
                            .options(joinedload(Course.published_version)))
    if course is None:
        return None
    if number is None:
        version = course.published_version
        if version is not None:
            set_committed_value(version, "course", course)  # already loaded: no second query
        return version
    return session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id,
                                                      CourseVersion.number == number))


def version_sources(version: CourseVersion) -> dict[str, bytes]:
    return {file.path: file.blob.data for file in version.files}


# Parsed items by (content hash, slug). A version's content never changes, so an entry
# never goes stale; the bound keeps memory flat however many versions there are.
_PARSED_ITEMS: OrderedDict[tuple[str, str], object] = OrderedDict()
PARSED_ITEMS_KEPT = 256


def _remembered(key: tuple[str, str], build):
    if key in _PARSED_ITEMS:
        _PARSED_ITEMS.move_to_end(key)
        return _PARSED_ITEMS[key]
    value = build()
    if value is not None:
        _PARSED_ITEMS[key] = value
        if len(_PARSED_ITEMS) > PARSED_ITEMS_KEPT:
            _PARSED_ITEMS.popitem(last=False)
    return value


@dataclass(frozen=True, slots=True)
class ItemOutline:
    """What a list of a version's items needs: no content."""

    slug: str
    position: int
    kind: str
    title: str
    minutes: int | None


def version_outline(version: CourseVersion) -> tuple[ItemOutline, ...]:
    """The version's items in order, read from the database at most once per process."""
    return _remembered((version.content_hash, ""), lambda: tuple(
        ItemOutline(i.slug, i.position, i.kind, i.title, i.minutes) for i in version.items))


# Live exercise scripts are run by a facilitator with the other services, never taken
# alone: they are listed with a course's items, but a learner's completion does not wait
# for them.
FACILITATED_KINDS = frozenset({"exercise"})


def learner_outline(version: CourseVersion) -> tuple[ItemOutline, ...]:
    """The version's items a learner takes on their own, in order: what completion needs."""
    return tuple(item for item in version_outline(version) if item.kind not in FACILITATED_KINDS)


def version_item(version: CourseVersion, slug: str):
    """The parsed item, rebuilt from its stored JSON at most once per process."""
    def build():
        stored = next((item for item in version.items if item.slug == slug), None)
        return item_from_data(stored.kind, stored.content) if stored else None

    return _remembered((version.content_hash, slug), build)


def version_file(session: Session, version: CourseVersion, path: str) -> bytes | None:
    file = session.scalar(select(CourseFile).where(CourseFile.version_id == version.id,
                                                   CourseFile.path == path))
    return file.blob.data if file else None
