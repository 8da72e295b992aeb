"""Shared helpers for the content engine tests."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from jesip_learn.content import Course

FIXTURES = Path(__file__).parent / "fixtures"

COURSE_MD = b"---\ntitle: Test course\ncode: TEST\n---\n\nOverview.\n"


def read_folder(folder: Path) -> dict[str, bytes]:
    """A fixture folder as the `{relative_path: bytes}` mapping the parser takes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def page(front_matter: str, body: str = "") -> bytes:
    return f"---\n{front_matter.strip()}\n---\n{body}".encode()


def course_with(**pages: bytes) -> dict[str, bytes]:
    """course.md plus the given pages; keyword names use _ for - and . (a_md -> a.md)."""
    files = {"course.md": COURSE_MD}
    for name, data in pages.items():
        files[name] = data
    return files


def all_html(course: Course) -> list[str]:
    """Every piece of rendered HTML in a course."""
    pieces = [course.overview_html]
    for item in course.items:
        if item.kind == "module":
            pieces.append(item.html)
        elif item.kind == "quiz":
            pieces.append(item.intro_html)
            for question in item.questions:
                pieces += [question.title_html, question.stem_html, question.explanation_html]
                pieces += [option.html for option in question.options]
        elif item.kind == "exercise":
            pieces.append(item.briefing_html)
            for event in item.events:
                pieces += [event.title_html, event.html]
                pieces += [fact.html for fact in event.facts]
                for option in event.options:
                    pieces += [option.html, option.feedback_html]
                if event.model_answer:
                    pieces += [line.html for line in event.model_answer.lines]
        else:
            pieces.append(item.intro_html)
            for step in item.steps:
                pieces += [step.title_html, step.html]
                for choice in step.choices:
                    pieces += [choice.label_html, choice.feedback_html]
                if step.model_answer:
                    pieces += [line.html for line in step.model_answer.lines]
    return pieces


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def start_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector.tags
