"""`flask --app app courses …`: check, import, export and package courses; Moodle question
banks."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from jesip_learn.cli.database import database
from jesip_learn.content import gift, parse_course_files, write_course_folder
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.packaging import FORMATS as PACKAGE_FORMATS
from jesip_learn.courses.packaging import PackageRefused
from jesip_learn.courses.packaging.versions import package_version, site_address

courses_group = AppGroup("courses", help="Courses written in Markdown (content-format.md).")


@courses_group.command("validate", help="Check a course folder, or a folder of courses.")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def courses_validate(path: Path):
    parsed = courses.parse_folders(path)
    if not parsed:
        raise click.ClickException(f"No course found in {path}: a course folder holds course.md")
    problems = [str(p) for _slug, result in parsed for p in result.problems]
    # Item-writing flaws are worth fixing but never stop an import: after the problems,
    # and they alone leave the exit status 0.
    warnings = [f"{w.path}:{w.line}: warning: {w.message}"
                for _slug, result in parsed for w in result.warnings]
    for line in problems + warnings:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(parsed)} {'course' if len(parsed) == 1 else 'courses'} valid: "
               + ", ".join(result.course.code for _slug, result in parsed)
               + (f" ({len(warnings)} warning{'' if len(warnings) == 1 else 's'})"
                  if warnings else ""))


@courses_group.command("import", help="Import a course folder, or a folder of courses: all "
                       "or nothing. Unchanged courses are left as they are.")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--needs-renewal", is_flag=True,
              help="Everyone must complete the new versions again.")
def courses_import(path: Path, needs_renewal: bool):
    parsed = courses.parse_folders(path)
    try:
        with database().write_session() as session:
            outcomes = courses.import_parsed(session, parsed, needs_renewal=needs_renewal)
    except courses.ImportRefused as refused:
        for line in refused.problems:
            click.echo(line, err=True)
        click.echo("Nothing was imported.", err=True)
        raise SystemExit(1) from None
    for outcome in outcomes:
        state = "imported as" if outcome.changed else "unchanged at"
        click.echo(f"{outcome.code}: {state} version {outcome.version_number}")


@courses_group.command("export", help="Write a course version back out as a folder.")
@click.argument("code")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--version", "number", type=int, help="Default: the published version.")
def courses_export(code: str, dest: Path, number: int | None):
    with database().session() as session:
        version = courses.find_version(session, code, number)
        if version is None:
            raise click.ClickException(f"No course {code}" + (f" version {number}"
                                                                if number else ""))
        if dest.exists() and any(dest.iterdir()):
            raise click.ClickException(f"{dest} is not empty: choose an empty or new folder")
        write_course_folder(courses.version_sources(version), dest, overwrite=True)
        click.echo(f"Wrote {version.course.code} version {version.number} to {dest}")


@courses_group.command("package", help="Write a course version as a package for another "
                       "learning system: SCORM 1.2, SCORM 2004 (4th edition) or cmi5.")
@click.argument("code")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--format", "package_format", type=click.Choice(list(PACKAGE_FORMATS)),
              default="scorm12", show_default=True)
@click.option("--version", "number", type=int, help="Default: the published version.")
def courses_package(code: str, out: Path, package_format: str, number: int | None):
    if not out.parent.is_dir():
        raise click.ClickException(f"{out.parent} is not a folder: make it first")
    site_url = site_address(current_app.config)
    try:
        with database().write_session() as session:
            package = package_version(session, code, package_format=package_format,
                                      number=number, site_url=site_url)
    except PackageRefused as refused:
        raise click.ClickException(refused.message) from None
    out.write_bytes(package.data)
    click.echo(f"Wrote {out} ({PACKAGE_FORMATS[package_format]}, {len(package.data):,} bytes)")
    click.echo("The quiz's answers are inside the package, where a browser can read them.")
    for item in package.skipped:
        click.echo(f"Left out: {item.title} ({item.reason})")


@courses_group.command("gift-import", help="Add the questions of a Moodle question bank (a "
                       "GIFT file) to a quiz page, new or existing; every question the "
                       "format cannot hold is listed with its line and skipped.")
@click.argument("bank", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("quiz", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", help="Only the questions of this category (and those under it).")
@click.option("--title", help="The quiz's title when the page is new (default: from its name).")
@click.option("--pass-mark", type=click.IntRange(0, 100), default=80, show_default=True,
              help="The pass mark when the page is new.")
def courses_gift_import(bank: Path, quiz: Path, category: str | None, title: str | None,
                        pass_mark: int):
    if not quiz.name.endswith(".quiz.md"):
        raise click.ClickException(f"{quiz} is not a quiz page: its name ends in .quiz.md, "
                                   "e.g. 07-imported.quiz.md")
    if not (quiz.parent / "course.md").is_file():
        raise click.ClickException(f"{quiz.parent} is not a course folder: it has no course.md")
    page = quiz.read_text(encoding="utf-8") if quiz.exists() else None
    default_title = quiz.name.removesuffix(".quiz.md").split("-", 1)[-1].replace("-", " ")
    try:
        result = gift.import_into_page(page, gift.read_bank(bank.read_bytes()),
                                       title=title or default_title.capitalize(),
                                       pass_mark=pass_mark, category=category)
    except gift.GiftRefused as refused:
        for skipped in gift.parse_gift(bank.read_text(errors="replace")).skipped:
            click.echo(skipped.describe(str(bank)))
        raise click.ClickException(refused.message) from None
    checked = parse_course_files({"course.md": b"---\ntitle: Check\ncode: CHECK\n---\n",
                                  quiz.name: result.text.encode()})
    problems = [str(p) for p in checked.problems if p.file == quiz.name]
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise click.ClickException(f"{quiz} would have problems, so it was left as it was.")
    quiz.write_text(result.text, encoding="utf-8")
    count = len(result.added)
    click.echo(f"Added {count} question{'s' if count != 1 else ''} to {quiz} from {bank}.")
    if result.categories:
        click.echo("Categories: " + "; ".join(f"{name or '(none)'} ({number})"
                                              for name, number in result.categories))
    for skipped in result.skipped:
        click.echo(skipped.describe(str(bank)))
    if result.skipped:
        click.echo(f"{len(result.skipped)} skipped: the quiz format cannot hold them.")


@courses_group.command("list", help="Courses with their published versions.")
def courses_list():
    with database().session() as session:
        found = courses.list_courses(session)
    if not found:
        click.echo("No courses yet. Import some with: flask --app app courses import courses/")
    for course in found:
        click.echo(f"{course.code:<16} v{course.version:<3} {course.title} "
                   f"({course.versions} {'version' if course.versions == 1 else 'versions'})")
