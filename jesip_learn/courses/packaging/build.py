"""Build a package: the page, its data, the scripts and styles, the manifest, one zip."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from jesip_learn.content import JDM_STAGES, METHANE_FIELDS, PRINCIPLES, Course, parse_course_files
from jesip_learn.courses.packaging import manifests
from jesip_learn.courses.packaging.archive import deterministic_zip
from jesip_learn.courses.packaging.manifests import safe_identifier
from jesip_learn.learning.runs import JDM_STAGE_LABELS, METHANE_MAX_CHARACTERS, PRINCIPLE_LABELS
from jesip_learn.scoring import (
    COVERED_SHARE,
    FILLER_WORDS,
    MOST_WORDS_NEEDED,
    NEGATIONS,
    NUMBER_WORDS,
    best_points,
)

FORMATS: dict[str, str] = {
    "scorm12": "SCORM 1.2",
    "scorm2004": "SCORM 2004 4th edition",
    "cmi5": "cmi5",
}
PLAYABLE_KINDS = ("module", "quiz", "scenario")
# Why an item of a kind a package cannot play is left out, in words for the learner.
LEFT_OUT_BECAUSE = {
    "exercise": "it is a live multi-agency exercise, run by a facilitator for several people "
                "at once in JESIP Learn",
}
LEFT_OUT_OTHERWISE = "items of this kind can only be taken in JESIP Learn"

FILES_FOLDER = "course-files"  # the course's images and PDFs, under their own paths
HERE = Path(__file__).resolve().parent
STATIC = HERE.parents[2] / "static"
STYLES = {
    "assets/govuk-frontend.min.css":
        STATIC / "vendor" / "govuk-frontend" / "govuk-frontend.min.css",
    "assets/govuk-frontend-LICENSE.txt": STATIC / "vendor" / "govuk-frontend" / "LICENSE.txt",
    "assets/app.css": STATIC / "css" / "app.css",
    "assets/package.css": HERE / "assets" / "package.css",
}
# In the order index.html loads them (deferred, so they run in this order): player.js,
# last, connects the quiz and scenario players to the page.
SCRIPTS = ("assets/scoring.js", "assets/runtime.js", "assets/quiz.js", "assets/scenario.js",
           "assets/player.js")
# SCORM 1.2 keeps at most 4,096 characters of suspend data; 2004 at least 64,000.
SUSPEND_LIMITS = {"scorm12": 4096, "scorm2004": 64000, "cmi5": 64000}

_templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                         autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


class PackageRefused(Exception):
    """No package can be made; `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class SkippedItem:
    slug: str
    title: str
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class Package:
    filename: str
    data: bytes
    package_format: str
    skipped: tuple[SkippedItem, ...]


def package_filename(code: str, version: int, package_format: str) -> str:
    return f"{safe_identifier(code)}-v{version}-{package_format}.zip"


def parse_for_package(sources: Mapping[str, bytes]) -> Course:
    """The course, its images and PDFs linked where the package keeps them."""
    result = parse_course_files(sources, resolve_file=lambda path: f"{FILES_FOLDER}/{path}")
    if not result.ok:
        raise PackageRefused("The course has problems, so it cannot be packaged: "
                             + "; ".join(str(p) for p in result.problems[:5]))
    return result.course


def build_package(course: Course, files: Mapping[str, bytes], *, version: int,
                  package_format: str, site_url: str = "") -> Package:
    """The zip of `course` (parsed by `parse_for_package`) in `package_format`.

    `files` are the course's files by path (at least those `course.files` names).
    `site_url` names the course's activity in cmi5 (the site's own address, as its xAPI
    statements name it); without it the ids are URNs. The same arguments always give the
    same bytes.
    """
    if package_format not in FORMATS:
        raise PackageRefused(f"Unknown package format '{package_format}': use one of "
                             + ", ".join(FORMATS))
    skipped = skipped_items(course)
    playable = [item for item in course.items if item.kind in PLAYABLE_KINDS]
    if not playable:
        raise PackageRefused(f"{course.code} has nothing a package can play: only reading "
                             "modules, quizzes and scenarios travel.")
    entries: dict[str, bytes] = {}
    for name, path in STYLES.items():
        entries[name] = path.read_bytes()
    for name in SCRIPTS:
        entries[name] = (HERE / name).read_bytes()
    for path in course.files:
        if path in files:
            entries[f"{FILES_FOLDER}/{path}"] = files[path]
    data = player_data(course, package_format=package_format, version=version)
    entries["index.html"] = render_page(course, data, skipped, version=version,
                                        package_format=package_format).encode()
    if package_format == "cmi5":
        entries["cmi5.xml"] = manifests.cmi5_course_structure(
            course, version=version, site_url=site_url, mastery=data["mastery"]).encode()
    else:
        manifest = manifests.scorm_manifest(course, version=version,
                                            package_format=package_format,
                                            files=sorted(entries), mastery=data["mastery"])
        entries["imsmanifest.xml"] = manifest.encode()
    return Package(filename=package_filename(course.code, version, package_format),
                   data=deterministic_zip(entries), package_format=package_format,
                   skipped=skipped)


def skipped_items(course: Course) -> tuple[SkippedItem, ...]:
    return tuple(
        SkippedItem(slug=item.slug, title=item.title, kind=item.kind,
                    reason=LEFT_OUT_BECAUSE.get(item.kind, LEFT_OUT_OTHERWISE))
        for item in course.items if item.kind not in PLAYABLE_KINDS)


def course_mastery(course: Course) -> float | None:
    """The pass mark (0 to 1) a learning system may hold the course to: the quiz's, when
    the course has exactly one quiz; None otherwise (several quizzes each keep their own)."""
    quizzes = [item for item in course.items if item.kind == "quiz"]
    return round(quizzes[0].pass_mark / 100, 4) if len(quizzes) == 1 else None


def player_data(course: Course, *, package_format: str, version: int) -> dict:
    """What the package's scripts need to draw, score and report, as JSON-ready data:
    the answers too (the nature of a package). Scoring vocabularies come from
    scoring.py itself, so the browser cannot drift from the server."""
    items = []
    for item in course.items:
        if item.kind == "module":
            items.append({"kind": "module", "slug": item.slug, "title": item.title})
        elif item.kind == "quiz":
            items.append(quiz_data(item))
        elif item.kind == "scenario":
            items.append(scenario_data(item))
    return {
        "format": package_format,
        "code": course.code,
        "title": course.title,
        "version": version,
        "mastery": course_mastery(course),
        "suspendLimit": SUSPEND_LIMITS[package_format],
        "items": items,
        "methane": {
            "fields": [list(field) for field in METHANE_FIELDS],
            "filler": sorted(FILLER_WORDS),
            "negations": sorted(NEGATIONS),
            "numbers": NUMBER_WORDS,
            "share": COVERED_SHARE,
            "most": MOST_WORDS_NEEDED,
            "maxCharacters": METHANE_MAX_CHARACTERS,
        },
        "stages": [[stage, JDM_STAGE_LABELS[stage]] for stage in JDM_STAGES],
        "principles": [[code, PRINCIPLE_LABELS[code]] for code in PRINCIPLES],
    }


def quiz_data(quiz) -> dict:
    return {
        "kind": "quiz", "slug": quiz.slug, "title": quiz.title, "passMark": quiz.pass_mark,
        "draw": quiz.questions_drawn, "maxAttempts": quiz.max_attempts,
        "questions": [{
            "id": question.id, "kind": question.kind,
            "options": [option.id for option in question.options],
            "correct": [option.id for option in question.options if option.correct],
            "order": list(question.correct_order),
        } for question in quiz.questions],
    }


def scenario_data(scenario) -> dict:
    return {
        "kind": "scenario", "slug": scenario.slug, "title": scenario.title,
        "start": scenario.start, "best": best_points(scenario),
        "steps": {step.id: {
            "kind": step.kind, "result": step.result, "jdm": step.jdm,
            "principle": step.principle,
            "choices": [{"id": choice.id, "target": choice.target, "score": choice.score,
                         "jdm": choice.jdm, "principle": choice.principle}
                        for choice in step.choices],
            "model": [line.text for line in step.model_answer.lines]
            if step.model_answer else None,
        } for step in scenario.steps},
    }


def script_json(data: dict) -> str:
    """JSON that cannot end the <script> element it sits in."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(course: Course, data: dict, skipped: tuple[SkippedItem, ...], *,
                version: int, package_format: str) -> str:
    return _templates.get_template("index.html").render(
        course=course, items=[item for item in course.items if item.kind in PLAYABLE_KINDS],
        skipped=skipped, version=version, format_name=FORMATS[package_format],
        data_json=script_json(data), scripts=SCRIPTS, methane_fields=METHANE_FIELDS,
        methane_max=METHANE_MAX_CHARACTERS)

