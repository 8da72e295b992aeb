"""No XSS payload of the corpus survives into any HTML the parser produces.

Each payload (xss_payloads.txt, one per line) is placed in every place a trainer
writes text: the course overview, a module body, a question's heading, stem, answer
and explanation, a scenario step's title and text, a choice's label and feedback and
a METHANE model line. The rendered HTML is parsed with html.parser, as a browser's
tokenizer would read it, and every tag and attribute is checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jesip_learn.content import parse_course_files, render_markdown, sanitise_html
from tests.content.helpers import all_html, start_tags

PAYLOADS = [
    line
    for line in (Path(__file__).parent / "xss_payloads.txt").read_text().splitlines()
    if line.strip()
]

# Tags the sanitiser may emit; anything else failing through is a bug.
SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    "var",
}  # fmt: skip
FORBIDDEN_TAGS = {
    "script", "iframe", "frame", "frameset", "form", "input", "button", "textarea", "select",
    "style", "link", "object", "embed", "base", "meta", "svg", "math", "template", "noscript",
    "xmp", "video", "audio", "source", "body", "html", "marquee", "isindex",
}  # fmt: skip
SAFE_ATTRIBUTES = {
    "href", "src", "alt", "title", "id", "class", "lang", "rel", "width", "height", "start",
    "colspan", "rowspan", "scope", "align",
}  # fmt: skip
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def course_containing(payload: str) -> dict[str, bytes]:
    quiz = (
        f"---\ntitle: Q\npass_mark: 50\n---\n\n## {payload}\n\n{payload}\n\n"
        f"- [x] {payload}\n- [ ] Safe answer\n\n> {payload}\n"
    )
    scenario = (
        f"---\ntitle: S\nstart: a\n---\n\n## {payload} {{#a}}\n\n{payload}\n\n"
        f"- [{payload}](#m){{score=1}}\n    > {payload}\n\n"
        f"## Message {{#m .methane}}\n\n- M: {payload}\n- E: e\n- T: t\n- H: h\n- A: a\n- N: n\n"
        f"- E: e\n\n- [Send](#b)\n\n## B {{#b .end result=pass}}\n\n{payload}\n"
    )
    return {
        "course.md": f"---\ntitle: T\ncode: X\n---\n\n{payload}\n".encode(),
        "01-module.md": f"---\ntitle: M\n---\n\n{payload}\n".encode(),
        "02-quiz.quiz.md": quiz.encode(),
        "03-scenario.scenario.md": scenario.encode(),
        "images/fcp.png": b"\x89PNG",
    }


def assert_safe(html: str) -> None:
    assert "<script" not in html.lower()
    for tag, attributes in start_tags(html):
        assert tag not in FORBIDDEN_TAGS and tag in SAFE_TAGS, (tag, html)
        for name, value in attributes:
            assert not name.startswith("on"), (name, html)
            assert name in SAFE_ATTRIBUTES, (name, html)
            if name in ("href", "src") and value is not None:
                url = URL_NOISE.sub("", value).lower()
                assert not url.startswith(DANGEROUS_SCHEMES), (value, html)
                if name == "src":
                    assert ":" not in url.split("/")[0], (value, html)  # course files only


def test_the_corpus_is_big_enough():
    assert len(PAYLOADS) >= 50


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_anywhere_in_a_course(payload):
    result = parse_course_files(course_containing(payload))
    pieces = all_html(result.draft)
    assert len(pieces) >= 12
    for html in pieces:
        assert_safe(html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_render_or_sanitise(payload):
    assert_safe(render_markdown(payload))
    assert_safe(sanitise_html(payload))


def test_the_payloads_really_reach_each_place():
    """Guard against a test that passes because nothing was rendered."""
    result = parse_course_files(course_containing("**marker**"))
    pieces = all_html(result.draft)
    assert sum("<strong>marker</strong>" in html for html in pieces) >= 11
    quiz = result.draft.items[1]
    assert quiz.questions[0].options[0].html == "<strong>marker</strong>"
    step = result.draft.items[2].steps[0]
    assert step.choices[0].label_html == "<strong>marker</strong>"
    assert step.choices[0].feedback_html == "<p><strong>marker</strong></p>"
    assert result.draft.items[2].steps[1].model_answer.lines[0].html == "<strong>marker</strong>"
