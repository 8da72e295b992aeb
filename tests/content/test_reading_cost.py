"""Markdown that would make Python-Markdown quadratic is refused before it is rendered.

The attack test found one paragraph of 10,000 `![` taking 70 seconds to render (20,000 `[`:
69 s; 10,000 `[a](`: 38 s; 10,000 `<a `: 22 s). Each such input, and the other families
reading_cost.py counts, must come back as a `file:line: message` problem without reaching
Markdown at all; real courses must never come near the limits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jesip_learn.content import page as page_module
from jesip_learn.content import parse_course_files, parse_course_folder, render_markdown
from jesip_learn.content.blocks import split_lines
from jesip_learn.content.reading_cost import MAX_COURSE_COST, MAX_PIECE_COST, reading_cost
from jesip_learn.content.render import new_markdown
from tests.content.helpers import COURSE_MD, FIXTURES, read_folder

COURSES = Path(__file__).resolve().parents[2] / "courses"
FRONT = "---\ntitle: Slow\n---\n\n"  # the body starts on line 5

# What each hostile body is, and words its problem must hold.
HOSTILE = {
    "10,000 image openers": ("![" * 10_000, "10,000 '[' here have no matching ']'"),
    "20,000 link openers": ("[" * 20_000, "20,000 '[' here have no matching ']'"),
    "10,000 unclosed link addresses": ("[a](" * 10_000, "10,000 links here have a '('"),
    "10,000 tag openers": ("<a " * 10_000, "10,000 '<' here start no complete HTML tag"),
    "10,000 CDATA openers": ("<![CDATA[" * 10_000, "have no matching ']'"),
    "brackets nested 5,000 deep": ("[" * 5_000 + "]" * 5_000, "'[' and ']' here are nested"),
    "5,000 headings without blank lines": ("# Heading\n" * 5_000, "5,000 headings, rules"),
    "2,000 references to one footnote": ("See[^1].\n\n" * 2_000 + "[^1]: A note.",
                                         "refers to footnotes 2,001 times"),
    "10,000 less-than signs in prose": ("x<y and " * 10_000, "'<' here start no complete"),
    "20,000 one-word paragraphs": ("Word.\n\n" * 20_000, "20,000 paragraphs"),
    "10,000 code blocks": ("```\nx\n```\n" * 10_000, "10,000 paragraphs, headings or other"),
}


@pytest.fixture
def converted(monkeypatch):
    """Every text handed to Python-Markdown while the test runs."""
    texts: list[str] = []

    def recording_markdown():
        converter = new_markdown()
        convert = converter.convert

        def record(text):
            texts.append(text)
            return convert(text)

        converter.convert = record
        return converter

    monkeypatch.setattr(page_module, "new_markdown", recording_markdown)
    return texts


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markdown_is_refused_at_its_line_without_being_rendered(name, converted):
    body, words = HOSTILE[name]
    result = parse_course_files({"course.md": COURSE_MD,
                                 "01-slow.md": (FRONT + body).encode()})
    assert [(p.file, p.line) for p in result.problems] == [("01-slow.md", 5)], result.problems
    problem = result.problems[0]
    assert str(problem).startswith("01-slow.md:5: this text would take too long to read: ")
    assert words in problem.message
    assert not any(body[:2_000] in text for text in converted)
    assert result.course is None and result.draft.items[0].html == ""


@pytest.mark.parametrize("name", ["10,000 image openers", "10,000 tag openers"])
def test_hostile_markdown_is_refused_in_quizzes_and_scenarios_too(name, converted):
    body, _words = HOSTILE[name]
    quiz = f"---\ntitle: Q\npass_mark: 50\n---\n\n## Which?\n\n{body}\n\n- [x] A\n- [ ] B\n"
    scenario = f"---\ntitle: S\nstart: a\n---\n\n## Start {{#a .end result=pass}}\n\n{body}\n"
    result = parse_course_files({"course.md": COURSE_MD, "01-q.quiz.md": quiz.encode(),
                                 "02-s.scenario.md": scenario.encode()})
    assert {(p.file, p.line) for p in result.problems} == {("01-q.quiz.md", 8),
                                                            ("02-s.scenario.md", 8)}
    assert not any(body[:2_000] in text for text in converted)


def test_render_markdown_shows_hostile_text_as_plain_text():
    html = render_markdown("![" * 10_000)
    assert html.startswith("<pre>![![") and "<img" not in html


def test_closed_links_images_tags_and_escaped_brackets_cost_little():
    ordinary = "\n".join([
        "A [link](https://example.org) and ![a picture](images/a.png) and <abbr title=x>x</abbr>.",
        "Escaped \\[ brackets \\] and a `code [span` cost nothing.",
        "",
        "```",
        "[" * 5_000,
        "```",
    ])
    assert reading_cost(split_lines(ordinary)).total < 1_000


def test_a_long_reading_list_is_well_within_the_limit():
    links = "\n".join(f"- [Source {n}: a report on joint working](https://example.org/{n})"
                      for n in range(500))
    assert reading_cost(split_lines(links)).total < MAX_PIECE_COST // 10


def test_the_cost_is_found_quickly_and_stops_at_the_limit():
    lines = split_lines("[" * 256_000)  # a whole page of the worst
    cost = reading_cost(lines, limit=MAX_PIECE_COST)
    assert cost.total > MAX_PIECE_COST and cost.family == "brackets"


def test_a_course_that_is_slow_in_all_its_pages_together_is_refused(monkeypatch):
    monkeypatch.setattr(page_module, "MAX_COURSE_COST", 1_000)
    body = "Para *one*.\n\n" * 6  # about 600: under the course limit once, not twice
    assert 300 < reading_cost(split_lines(body)).total < 1_000
    result = parse_course_files({"course.md": COURSE_MD, "01-a.md": (FRONT + body).encode(),
                                 "02-b.md": (FRONT + body).encode()})
    assert [(p.file, p.line) for p in result.problems] == [("02-b.md", 5)]
    assert "more text that is slow to read than a course may" in result.problems[0].message


def _pages():
    folders = [p for p in COURSES.iterdir() if (p / "course.md").is_file()]
    folders += [p for p in FIXTURES.rglob("*") if (p / "course.md").is_file()]
    return folders


@pytest.mark.parametrize("folder", _pages(), ids=lambda folder: folder.name)
def test_real_courses_stay_far_below_the_limits(folder):
    total = 0
    for path, data in read_folder(folder).items():
        if path.endswith(".md"):
            cost = reading_cost(split_lines(data.decode("utf-8", "replace"))).total
            assert cost < MAX_PIECE_COST // 10, (path, cost)
            total += cost
    assert total < MAX_COURSE_COST // 10
    if folder.parent == COURSES:
        assert parse_course_folder(folder).ok
