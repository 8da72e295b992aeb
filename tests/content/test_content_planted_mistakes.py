"""A copy of the valid course with mistakes planted: exactly one `file:line:` message
per mistake, each at the line of the offending key, heading, link or list item."""

from __future__ import annotations

import re

from jesip_learn.content import parse_course_files
from tests.content.helpers import FIXTURES, read_folder

PLANTED = FIXTURES / "planted-mistakes"
# Kept out of the fixture folder: tools that read every .md file (ruff format reads
# Markdown for code blocks) would choke on it.
NOT_UTF8_PAGE = {"10-latin1.md": b"---\ntitle: Caf\xe9 culture\n---\n"}


def parse_planted():
    return parse_course_files(
        {**read_folder(PLANTED), **NOT_UTF8_PAGE}, display_root="planted-mistakes"
    )


QUIZ = "05-check-your-understanding.quiz.md"
SCENARIO = "06-flooding.scenario.md"
MODULE = "01-why-interoperability.md"

# (file, line, words the message must contain), one per planted mistake.
EXPECTED = [
    ("course.md", 1, "missing code"),
    ("course.md", 4, "minutes must be a whole number"),
    ("course.md", 5, "validity_months must be a whole number of months, at least 1"),
    ("course.md", 7, "unknown service 'coastguard'"),
    (MODULE, 9, "image not found: images/missing.png"),
    (MODULE, 11, "image has no alternative text"),
    (MODULE, 13, "images must be files in the course folder, not web addresses"),
    (MODULE, 15, "SVG images can't be shown in a page"),
    (MODULE, 17, "inside the course folder: ../other-course/files/guide.pdf"),
    (MODULE, 19, "not javascript:"),
    ("02-the-five-principles.md", 1, "missing title"),
    ("03-joint-decision-model.md", 2, "malformed YAML in front matter: mapping values"),
    ("04-methane.md", 1, "must start with front matter"),
    (QUIZ, 3, "pass_mark must be a number from 0 to 100, not '120'"),
    (QUIZ, 4, "questions_per_attempt must be a whole number, at least 1"),
    (QUIZ, 5, "max_attempts must be a whole number, at least 1"),
    (QUIZ, 8, "question has no correct answer"),
    (QUIZ, 15, "question has no answers"),
    (QUIZ, 19, "a choice question needs at least two answers"),
    (QUIZ, 26, "this answer has no box"),
    (QUIZ, 32, "this answer repeats the one on line 31"),
    (QUIZ, 42, "only a block quote (> ...) may follow the answers"),
    (SCENARIO, 12, "score must be a whole number, not 'two'"),
    (SCENARIO, 13, "unknown jdm=guessing"),
    (SCENARIO, 15, "unknown principle=teamwork"),
    (SCENARIO, 21, "link to a step that does not exist: #duty-manager"),
    (SCENARIO, 27, "the model answer must have the seven lines M, E, T, H, A, N, E"),
    (SCENARIO, 35, "step 'wrong-bank' is a dead end"),
    (SCENARIO, 39, "an ending needs result=pass or result=fail"),
    (SCENARIO, 47, "an ending (.end) can't have choices"),
    (SCENARIO, 53, "two steps have the id 'delay' (the other is on line 49)"),
    (SCENARIO, 57, "step 'orphan' can't be reached from the start step 'first-call'"),
    ("07-lost.scenario.md", 3, "start names no step"),
    ("08-no-way-to-pass.scenario.md", 1, "no ending with result=pass"),
    ("09-the-five-principles.md", 1, "another page has the slug 'the-five-principles'"),
    ("10-latin1.md", 2, "not UTF-8 text (byte 0xe9)"),
    ("11-aliases.md", 3, "YAML aliases (*name) are not allowed"),
    ("images/notes.docx", 1, "files of this type are not allowed"),
    ("notes.md", 1, "a page's name starts with its number"),
]


def test_one_message_per_planted_mistake_at_the_right_line():
    result = parse_planted()
    found = [(problem.file, problem.line, problem.message) for problem in result.problems]
    assert [(file, line) for file, line, _ in found] == [(file, line) for file, line, _ in EXPECTED]
    for (file, line, message), (_, _, words) in zip(found, EXPECTED, strict=True):
        assert words in message, f"{file}:{line}: {message!r} lacks {words!r}"


def test_messages_read_file_colon_line_colon_message():
    result = parse_planted()
    for problem in result.problems:
        assert re.fullmatch(r"planted-mistakes/[\w./-]+:\d+: \S.*", str(problem))
    assert str(result.problems[0]) == (
        "planted-mistakes/course.md:1: missing code: add 'code: ...' to the front matter"
    )


def test_nothing_is_importable_while_problems_remain():
    result = parse_planted()
    assert result.course is None and not result.ok
    assert result.draft.title == "JESIP Awareness"  # the editor can still preview
