"""Markdown courses: parse, validate and render them (content-format.md).

Pure: imports no Flask and no database code, so the CLI, the importer, the web views
and the tests all call the same functions.

    result = parse_course_folder("courses/jesip-awareness")
    for problem in result.problems:
        print(problem)                # jesip-awareness/04-methane.md:12: message
    if result.ok:                     # result.course is None while any problem remains
        store(result.course, result.sources, result.content_hash)
    preview(result.draft)             # best effort, even with problems: never import it

`parse_course_files({relative_path: bytes})` does the same for files held in memory
(zip uploads, the browser editor). `render_markdown` / `sanitise_html` render and
clean any other trainer-written Markdown or HTML with the same allow-list.

Module map: model.py (dataclasses), parse.py (entry points), quiz.py, scenario.py
and exercise.py (page builders; exercise_checks.py holds a live exercise script's
rules), blocks.py (line-aware Markdown scanning), frontmatter.py (safe YAML),
problem_log.py (collecting problems), the rules: validate.py (quizzes, the course's pages
and slugs), front_matter_values.py (each front matter key), reference_checks.py (images
and links), scenario_checks.py (tags and paths), with suggestions.py ("did you mean"),
item_writing.py (warnings about
questions and choices that give their answers away), render.py (Markdown + nh3), files.py
(what a course may hold), reading_cost.py (what Markdown would spend on a text),
worker.py (parsing within a time limit), hashing.py, export.py.

Python-Markdown is slow (quadratic) on some hostile inputs, such as a paragraph of
thousands of `[`: reading_cost.py refuses those before Markdown sees them, pages are
capped at 256 KB, and `parse_within` (worker.py) parses in a worker process that is
killed when its time is up. The web layer parses only that way, and before it writes.
"""

from jesip_learn.content.export import write_course_folder
from jesip_learn.content.files import (
    ALLOWED_FILE_TYPES,
    INLINE_IMAGE_TYPES,
    is_download_only,
    media_type,
)
from jesip_learn.content.hashing import content_hash
from jesip_learn.content.model import (
    EXERCISE_LEVELS,
    JDM_STAGES,
    METHANE_FIELDS,
    PRINCIPLES,
    ROLES,
    SERVICES,
    Choice,
    Course,
    DecisionOption,
    ExerciseEvent,
    ExerciseRole,
    ExerciseScript,
    Fact,
    Item,
    MethaneLine,
    MethaneModelAnswer,
    Module,
    Option,
    ParseResult,
    Problem,
    Question,
    Quiz,
    Requirement,
    Scenario,
    Step,
    TalkGroup,
)
from jesip_learn.content.parse import (
    parse_course_files,
    parse_course_folder,
    validate_course_folder,
)
from jesip_learn.content.render import FileUrls, render_markdown, sanitise_html
from jesip_learn.content.worker import parse_within

__all__ = [
    "ALLOWED_FILE_TYPES",
    "EXERCISE_LEVELS",
    "INLINE_IMAGE_TYPES",
    "JDM_STAGES",
    "METHANE_FIELDS",
    "PRINCIPLES",
    "ROLES",
    "SERVICES",
    "Choice",
    "Course",
    "DecisionOption",
    "ExerciseEvent",
    "ExerciseRole",
    "ExerciseScript",
    "Fact",
    "FileUrls",
    "Item",
    "MethaneLine",
    "MethaneModelAnswer",
    "Module",
    "Option",
    "ParseResult",
    "Problem",
    "Question",
    "Quiz",
    "Requirement",
    "Scenario",
    "Step",
    "TalkGroup",
    "content_hash",
    "is_download_only",
    "media_type",
    "parse_course_files",
    "parse_course_folder",
    "parse_within",
    "render_markdown",
    "sanitise_html",
    "validate_course_folder",
    "write_course_folder",
]
