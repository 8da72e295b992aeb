"""The line-aware scanner that splits quizzes and scenarios with line numbers."""

from __future__ import annotations

from jesip_learn.content.blocks import (
    Line,
    parse_attributes,
    scan_blocks,
    split_lines,
    split_sections,
    too_deep_line,
    unclosed_fences,
)
from jesip_learn.content.page import PieceRenderer
from jesip_learn.content.problem_log import ProblemLog


def test_split_lines_only_on_line_endings():
    assert [line.text for line in split_lines("a\r\nb\rc\x0cd\u2028e\n")] == [
        "a", "b", "c\x0cd\u2028e", "",
    ]  # fmt: skip


def test_sections_ignore_headings_in_fenced_code():
    lines = split_lines("intro\n## One {#a}\n```\n## not a heading\n```\n## Two\nbody", 5)
    intro, sections = split_sections(lines)
    assert [line.number for line in intro] == [5]
    assert [(s.heading.number, s.title, s.attributes) for s in sections] == [
        (6, "One", "#a"),
        (10, "Two", None),
    ]
    assert [line.text for line in sections[0].body] == ["```", "## not a heading", "```"]


def test_heading_attributes_need_a_space_before_the_brace():
    _, sections = split_sections(split_lines("## C# {#c}\n## Go{#x}\n## Closed ##"))
    assert [(s.title, s.attributes) for s in sections] == [
        ("C#", "#c"),
        ("Go{#x}", None),
        ("Closed", None),
    ]


def test_attribute_lists():
    parsed = parse_attributes("#id .end result=pass label=\"two words\" k='v' stray")
    assert parsed.id == "id"
    assert parsed.classes == ("end",)
    assert parsed.pairs == (("result", "pass"), ("label", "two words"), ("k", "v"))
    assert parsed.words == ("stray",)


def test_list_items_keep_their_lines_and_indented_content():
    text = "- [x] One\n    > note\n- [ ] Two\n  lazy? no, indented\n\n- [ ] Three\n\nAfter"
    blocks = scan_blocks(split_lines(text, 10))
    assert [block.kind for block in blocks] == ["list", "blank", "other"]
    items = blocks[0].items
    assert [(item.line.number, item.text) for item in items] == [
        (10, "[x] One"),
        (12, "[ ] Two"),
        (15, "[ ] Three"),
    ]
    assert [(line.number, line.text) for line in items[0].more] == [(11, "> note")]
    assert [line.number for line in items[1].lines] == [12, 13, 14]


def test_a_numbered_list_after_a_bulleted_one_is_a_new_list():
    blocks = scan_blocks(split_lines("- a\n1. b\n2. c"))
    assert [(block.kind, len(block.items)) for block in blocks] == [("list", 1), ("list", 2)]
    assert blocks[1].items[0].ordered


def test_quotes_take_lazy_lines_and_stop_at_blank_lines():
    blocks = scan_blocks(split_lines("> a\nlazy\n\n> b"))
    assert [(block.kind, [line.text for line in block.lines]) for block in blocks] == [
        ("quote", ["> a", "lazy"]),
        ("blank", [""]),
        ("quote", ["> b"]),
    ]


def test_nesting_depth_counts_markers_and_indentation():
    assert too_deep_line(split_lines("> " * 20 + "ok")) is None
    assert too_deep_line(split_lines("fine\n" + "> " * 21 + "deep")).number == 2
    assert too_deep_line(split_lines("    " * 21 + "- deep")) is not None
    assert too_deep_line(split_lines("```\n" + " " * 200 + "code\n```")) is None


def test_unclosed_fences():
    lines = split_lines("```\ncode\n```\n~~~python\nnever closed\n````\n```")
    assert [line.number for line in unclosed_fences(lines)] == [4, 6, 7]


def test_heading_text_that_looks_like_a_block_stays_text():
    renderer = PieceRenderer(frozenset())
    problems = ProblemLog().for_file("x.md")

    def title(text):
        return renderer.render_heading(Line(1, text), text, problems)

    assert title("1. First steps") == "1. First steps"
    assert title("- a dash") == "- a dash"
    assert title("> quoted") == "&gt; quoted"
    assert title("***") == "***"
    assert title("**Bold** start") == "<strong>Bold</strong> start"
