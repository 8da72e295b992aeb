"""Front matter text can't carry control characters.

The attack test found a course title holding CR/LF (`title: "Course\\r\\nBcc: ..."`)
accepted by validation, after which `notify send` failed building email headers. Every
front-matter text value (course title, summary and code, item titles, objectives, a
scenario's start) now refuses C0 and C1 controls, the Unicode line and paragraph
separators and bidirectional overrides, at the key's line.
"""

from __future__ import annotations

import pytest

from jesip_learn.content import parse_course_files
from jesip_learn.courses import authoring
from tests.content.helpers import COURSE_MD

# YAML double-quoted escapes, as a hostile file would write them, and what they hold.
CHARACTERS = {
    "carriage return and line feed": ("\\r\\nBcc: all@example.org", "must be on one line"),
    "line feed": ("\\nSecond line", "must be on one line"),
    "bell": ("\\a", "a control character (U+0007)"),
    "escape": ("\\e[31m", "a control character (U+001B)"),
    "tab": ("\\t", "a control character (U+0009)"),
    "next line (C1)": ("\\N", "must be on one line"),
    "control sequence introducer (C1)": ("\\x9b", "a control character (U+009B)"),
    "line separator": ("\\L", "must be on one line"),
    "paragraph separator": ("\\P", "must be on one line"),
    "right-to-left override": ("\\u202e", "a text-direction control (U+202E)"),
    "first strong isolate": ("\\u2068", "a text-direction control (U+2068)"),
}

# (file, the page with a hostile value where {value} goes, the key's line, the key)
PLACES = [
    ("course.md", '---\ntitle: "Cour{value}se"\ncode: TEST\n---\n', 2, "title"),
    ("course.md", '---\ntitle: Course\ncode: "TE{value}ST"\n---\n', 3, "code"),
    ("course.md", '---\ntitle: Course\ncode: TEST\nsummary: "Su{value}m"\n---\n', 4,
     "summary"),
    ("01-m.md", '---\ntitle: "Mod{value}ule"\n---\n\nText.\n', 2, "title"),
    ("01-m.md", '---\ntitle: Module\nobjectives:\n  - Fine\n  - "Kn{value}ow"\n---\n\nText.\n',
     5, "each of the objectives"),
    ("02-q.quiz.md", '---\ntitle: "Qu{value}iz"\npass_mark: 50\n---\n\n## Which?\n\n'
     "- [x] A\n- [ ] B\n", 2, "title"),
    ("03-s.scenario.md", '---\ntitle: "Scen{value}ario"\nstart: a\n---\n\n'
     "## A {#a .end result=pass}\n\nDone.\n", 2, "title"),
    ("03-s.scenario.md", '---\ntitle: Scenario\nstart: "a{value}b"\n---\n\n'
     "## A {#a .end result=pass}\n\nDone.\n", 3, "start"),
]


def course(file: str, text: str) -> dict[str, bytes]:
    files = {"course.md": COURSE_MD, file: text.encode()}
    if file != "01-m.md":
        files["01-m.md"] = b"---\ntitle: Module\n---\n\nText.\n"
    return files


CASES = [pytest.param(place, name, id=f"{place[0]} {place[3]}: {name}")
         for place in PLACES for name in CHARACTERS
         # a summary may run over lines and hold tabs
         if not (place[3] == "summary" and name in ("line feed", "tab"))]


@pytest.mark.parametrize(("place", "name"), CASES)
def test_a_control_character_in_front_matter_text_is_refused_at_its_line(place, name):
    file, template, line, key = place
    escape, words = CHARACTERS[name]
    result = parse_course_files(course(file, template.replace("{value}", escape)))
    found = [p for p in result.problems if p.file == file and p.line == line]
    assert found and found[0].message.startswith(f"{key} "), result.problems
    assert words in found[0].message
    assert result.course is None


def test_a_summary_may_run_over_lines_but_not_hold_other_controls():
    summary = "---\ntitle: Course\ncode: TEST\nsummary: |\n  First line.\n  Second\tline.\n---\n"
    assert parse_course_files(course("course.md", summary)).ok
    bell = '---\ntitle: Course\ncode: TEST\nsummary: "Ring \\a the bell"\n---\n'
    problems = parse_course_files(course("course.md", bell)).problems
    assert [(p.line, p.message[:42]) for p in problems] == [
        (4, "summary holds a control character (U+0007)")]


def test_direction_marks_and_other_scripts_are_ordinary_text():
    title = '---\ntitle: "Arabic \\u200fمرحبا\\u200e and Welsh: Ŵyl"\ncode: TEST\n---\n'
    result = parse_course_files(course("course.md", title))
    assert result.ok and result.course.title == "Arabic \u200fمرحبا\u200e and Welsh: Ŵyl"


def test_a_refused_value_is_shown_escaped_in_problems():
    roles = ('---\ntitle: C\ncode: T\nrequired_for:\n  services: [police]\n'
             '  roles: ["x\\e[2J"]\n---\n')
    (problem,) = parse_course_files(course("course.md", roles)).problems
    assert "\x1b" not in problem.message and "x\\u001b[2J" in problem.message


@pytest.mark.parametrize("title", ["Flood\u202eresponse", "Flood\x07response",
                                   "Flood\x9bresponse"])
def test_the_editor_refuses_such_titles_for_new_courses_and_items(session, make, organisation,
                                                                  title):
    trainer = make.user(organisation=organisation, permissions={"trainer"})
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.create_course(session, trainer, title=title, code="FLOOD-1")
    assert refused.value.field == "title" and "can't be shown as text" in refused.value.message
    course = authoring.create_course(session, trainer, title="Flood response", code="FLOOD-1",
                                     summary="Working together")
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.add_item(session, trainer, course, kind="module", title=title)
    assert refused.value.field == "title"
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.create_course(session, trainer, title="Flood", code="FLOOD-2",
                                summary=f"Sum {title}")
    assert refused.value.field == "summary"


@pytest.mark.parametrize("name", ["escape", "right-to-left override", "bell"])
def test_a_live_exercise_roles_title_refuses_control_characters(name):
    escape, words = CHARACTERS[name]
    script = ("---\ntitle: Drill\nminutes: 10\nroles:\n  - id: police-control\n"
              f'    title: "Police{escape} control"\n    service: police\n'
              "    level: control-room\n---\n\nBriefing.\n\n"
              "## End {#end .end at=10:00}\n")
    result = parse_course_files(course("02-d.exercise.md", script))
    found = [p for p in result.problems if p.file == "02-d.exercise.md" and p.line == 6]
    assert found and words in found[0].message, result.problems
