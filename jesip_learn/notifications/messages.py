"""What each email says, as plain text and as HTML, from the templates in
templates/mail/notifications/. Plain Jinja, not Flask's: the sender runs from cron.

The HTML is simple on purpose: real headings, paragraphs and lists, link text that says
where it goes, no images and no layout tables, so screen readers and plain mail clients read
it as well as the text part does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "mail" / "notifications"

_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_environment.filters["long_date"] = lambda day: f"{day.day} {day:%B %Y}"
_environment.filters["signed"] = lambda number: f"{number:+.1f}"


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render(template: str, subject: str, **context) -> RenderedMail:
    """`template`.txt and `template`.html with the same context."""
    context = {"subject": subject, **context}
    return RenderedMail(subject,
                        _environment.get_template(f"{template}.txt").render(context),
                        _environment.get_template(f"{template}.html").render(context))


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
