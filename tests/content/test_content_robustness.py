"""The parser never raises, whatever a course holds, and stays fast on hostile input.

"Never raises" also means no internal error is papered over: every result must be a
ParseResult whose problems are well-formed `file:line: message` entries.
"""

from __future__ import annotations

import time  # process_time: CPU seconds of this process, whatever else the machine runs

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jesip_learn.content import ParseResult, parse_course_files
from tests.content.helpers import COURSE_MD

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PAGE_NAMES = ["01-a.md", "02-q.quiz.md", "03-s.scenario.md", "course.md"]

# Pieces that look like the syntax the parser cares about, for text that gets past
# the front matter and into the line-aware scanning.
FRAGMENTS = st.sampled_from([
    "---", "...", "\n", "\n\n", "## ", "# ", "### ", "- ", "* ", "+ ", "1. ", "    ", "\t",
    "> ", ">", "[x] ", "[ ] ", "[X]", "{", "}", "{#", "{: ", ".end", ".methane", "result=pass",
    "result=fail", "score=", "jdm=information", "principle=risk", "#", "[", "]", "(", ")",
    "(#", "![", "](", "images/a.png", "```", "~~~", "!!! note", "|", ":-:", "[^1]", "[^1]: ",
    "M: ", "E: ", "title: ", "start: ", "pass_mark: ", "&", "<", "<b>", "<script>", "\\",
    "\r\n", "\r", "\x00", "\ufeff", "é", "*", "_", "`", "word", "a", "b",
])  # fmt: skip
MARKDOWNISH = st.lists(FRAGMENTS, max_size=60).map("".join)
FRONT = "---\ntitle: T\npass_mark: 50\nstart: a\n---\n"


def assert_well_formed(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    assert result.draft is not None and result.content_hash
    assert (result.course is None) == bool(result.problems)
    for problem in result.problems:
        assert problem.line >= 1 and problem.message
        assert str(problem).startswith(f"{problem.file}:{problem.line}: ")
        assert "internal error" not in problem.message


def parse_pages(data: bytes) -> None:
    for name in PAGE_NAMES:
        files = {"course.md": COURSE_MD, name: data}
        assert_well_formed(parse_course_files(files))


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data):
    parse_pages(data)


@FAST
@given(st.text(max_size=2000))
def test_arbitrary_text(text):
    parse_pages(text.encode("utf-8", "surrogatepass"))


@FAST
@given(MARKDOWNISH)
def test_markdownish_text_after_front_matter(text):
    parse_pages((FRONT + text).encode("utf-8", "surrogatepass"))


@FAST
@given(MARKDOWNISH)
def test_markdownish_text_as_front_matter(text):
    parse_pages(("---\n" + text + "\n---\n").encode("utf-8", "surrogatepass"))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.binary(max_size=200), max_size=6))
def test_arbitrary_file_names(files):
    assert_well_formed(parse_course_files(files))


def test_empty_files():
    assert_well_formed(parse_course_files({"course.md": b"", "01-a.md": b""}))
    assert_well_formed(parse_course_files({}))


def test_ten_megabyte_page_is_refused_quickly():
    started = time.process_time()
    result = parse_course_files({"course.md": COURSE_MD, "01-a.md": b"# x\n" * 2_500_000})
    assert time.process_time() - started < 2
    assert [str(p) for p in result.problems] == [
        "01-a.md:1: the file is too big (9.5 MB; the limit is 0.25 MB)"
    ]


def test_largest_allowed_page_of_one_paragraph_is_bounded():
    started = time.process_time()
    body = b"word *emph* [link](#x) " * 10_000  # 230 KB in one paragraph, under the limit
    assert_well_formed(
        parse_course_files({"course.md": COURSE_MD, "01-a.md": FRONT.encode() + body})
    )
    assert time.process_time() - started < 15


def test_non_utf8_everywhere():
    for data in (b"\xff\xfe---\n", b"---\ntitle: \xc3\x28\n---\n", b"\x80" * 100):
        parse_pages(data)


def test_yaml_bomb_is_refused_quickly():
    bomb = b"---\n" + b"a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, 12):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        bomb += f"a{level}: &a{level} [{refs}]\n".encode()
    bomb += b"title: boom\n---\n"
    started = time.process_time()
    result = parse_course_files({"course.md": COURSE_MD, "01-a.md": bomb})
    assert time.process_time() - started < 1
    assert [str(p) for p in result.problems] == [
        "01-a.md:3: YAML aliases (*name) are not allowed in front matter"
    ]


def test_yaml_nested_a_thousand_deep():
    deep = b"---\ntitle: " + b"[" * 1000 + b"]" * 1000 + b"\n---\n"
    result = parse_course_files({"course.md": COURSE_MD, "01-a.md": deep})
    assert_well_formed(result)
    assert not result.ok


def test_deep_nesting_is_refused_not_recursed():
    shapes = {
        "quotes": "> " * 1000 + "deep",
        "lists": "- " * 1000 + "deep",
        "quoted lists": "> - " * 1000 + "deep",
        "indented lists": "\n".join("    " * level + "- x" for level in range(300)),
        "numbered": "1. " * 1000 + "deep",
    }
    for name, body in shapes.items():
        for page_name, text in [
            ("01-a.md", FRONT + body),
            ("02-q.quiz.md", FRONT + "## Q\n\n" + body + "\n\nSo:\n\n- [x] a\n- [ ] b\n"),
            ("03-s.scenario.md", FRONT + "## A {#a .end result=pass}\n\n" + body),
        ]:
            started = time.process_time()
            result = parse_course_files({"course.md": COURSE_MD, page_name: text.encode()})
            assert time.process_time() - started < 2, name
            assert any("nested too deeply" in p.message for p in result.problems), (name, page_name)


def test_many_unclosed_fences_are_reported_not_rendered():
    # Python-Markdown scans to the end of the text once per unclosed fence.
    text = FRONT + "````x\n" * 20_000 + "```\n" * 20_000
    started = time.process_time()
    result = parse_course_files({"course.md": COURSE_MD, "01-a.md": text.encode()})
    assert time.process_time() - started < 5
    assert (
        result.problems[0].message == "this code block is never closed: end it with a line of ```"
    )
