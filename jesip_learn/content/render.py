"""Markdown to HTML that is safe to put in front of a learner.

Python-Markdown turns a page into HTML, then nh3 cleans it against the allow-list
below. Anything not listed is dropped: <script>, <style>, <iframe>, forms, event
handlers (`onclick=`), `style=` attributes and every URL scheme but the ones in
LINK_SCHEMES.

Decisions:
- Images come only from the course's own files: an <img> whose src is a web
  address, a `data:` URL or an absolute path loses its src. The validator reports
  such images, so a trainer never sees one vanish without a message.
- Links may go to http(s), mailto and tel addresses, to course files and to #anchors.
  Every link gets rel="noopener noreferrer" (nh3 adds it to all links; it does no harm
  on internal ones).
- A table column's alignment (`| ---: |`, `| :---: |`) becomes a GOV.UK Frontend
  class on its cells (`govuk-!-text-align-right`, `-centre`, `-left`), because the
  Content-Security-Policy forbids inline styles and the course stylesheet's own
  `text-align` outranks an `align` attribute. Only cells may carry those classes.
- Every id is prefixed with ID_PREFIX, and #fragment links with it too, so an author's
  `{#main-content}` or footnote ids can never collide with (or clobber) ids of the
  page around the content.
- Relative course paths in src and href are turned into URLs by `resolve_file`,
  a callable the web layer passes to point them at its file route. The same input and
  resolver always give the same HTML, so it can be stored and never rendered again.
"""

from __future__ import annotations

import html as html_escaping
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urlsplit

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from jesip_learn.content.blocks import (
    MAX_UNCLOSED_FENCES,
    split_lines,
    too_deep_line,
    unclosed_fences,
)
from jesip_learn.content.files import course_relative_path
from jesip_learn.content.reading_cost import MAX_PIECE_COST, reading_cost

ResolveFile = Callable[[str], str]

MARKDOWN_EXTENSIONS = ("tables", "fenced_code", "footnotes", "admonition", "attr_list", "toc")
MARKDOWN_EXTENSION_CONFIGS = {
    # align="..." instead of style="text-align: ...", which TableAlignmentClasses then
    # turns into a class: style is never allowed.
    "tables": {"use_align_attribute": True},
}

ID_PREFIX = "content-"
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul", "var",
})  # fmt: skip
# Removed together with everything inside them, not just unwrapped.
REMOVED_WITH_CONTENT = frozenset({
    "script", "style", "template", "iframe", "noscript", "object", "embed", "textarea",
    "select", "title", "xmp", "noembed", "noframes", "svg", "math",
})  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
# A table column's alignment → the GOV.UK Frontend typography override that gives it.
ALIGNMENT_CLASSES = {
    "left": "govuk-!-text-align-left",
    "center": "govuk-!-text-align-centre",
    "right": "govuk-!-text-align-right",
}
TABLE_CELLS = frozenset({"th", "td"})

# Only the classes the Markdown extensions themselves write.
ADMONITION_TYPES = frozenset({
    "note", "attention", "caution", "danger", "error", "hint", "important", "tip",
    "warning", "info", "success", "question", "failure", "bug", "example", "quote",
    "abstract", "seealso", "summary", "todo",
})  # fmt: skip
ALLOWED_CLASSES = ADMONITION_TYPES | {
    "admonition", "admonition-title", "footnote", "footnote-ref", "footnote-backref", "toc",
}  # fmt: skip
LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
NUMBER = re.compile(r"[0-9]{1,6}")
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Browsers ignore these inside URLs ("java\tscript:"), so they are dropped before any
# scheme check.
URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
MAY_HOLD_REFERENCE = re.compile(r"<(?:img|a)\b", re.IGNORECASE)


class _AlignmentToClass(Treeprocessor):
    def run(self, root):
        for cell in root.iter():
            if cell.tag not in TABLE_CELLS:
                continue
            alignment = cell.attrib.pop("align", None)
            if alignment in ALIGNMENT_CLASSES:
                classes = cell.get("class", "").split()
                cell.set("class", " ".join([*classes, ALIGNMENT_CLASSES[alignment]]))


class TableAlignmentClasses(Extension):
    """Table cells aligned by a class instead of an `align` attribute (see the module
    docstring)."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's name)
        md.treeprocessors.register(_AlignmentToClass(md), "table_alignment_classes", 5)


def new_markdown() -> markdown.Markdown:
    """A Markdown converter with the extensions content-format.md names.

    Not thread-safe: keep one per thread (or per parse) and call `reset()` between
    documents.
    """
    return markdown.Markdown(
        extensions=[*MARKDOWN_EXTENSIONS, TableAlignmentClasses()],
        extension_configs=MARKDOWN_EXTENSION_CONFIGS,
        output_format="html",
    )


@dataclass(frozen=True, slots=True)
class FileUrls:
    """A `resolve_file` that is plain data, so that it can be sent to the parsing worker
    and compared afterwards: a course file's URL is `template` with `{path}` replaced by
    the file's path (percent-encoded) and `{content_hash}` by the course's content hash,
    which the parser fills in once it has read the files."""

    template: str
    content_hash: str = ""

    def __call__(self, path: str) -> str:
        return self.template.replace("{content_hash}", self.content_hash).replace(
            "{path}", quote(path)
        )


def default_resolve_file(path: str) -> str:
    """Leave course files as relative URLs (percent-encoded)."""
    return quote(path)


def url_scheme(url: str) -> str | None:
    """The lower-case scheme of `url` as a browser would read it, or None."""
    match = SCHEME.match(URL_NOISE.sub("", url))
    return match.group(1).lower() if match else None


def split_course_url(url: str) -> tuple[str, str] | None:
    """(course-relative path, "?query#fragment" suffix) for a relative URL that names a
    course file; None for anything else (web addresses, absolute paths, paths that
    climb out of the course, bare #fragments)."""
    if url_scheme(url) is not None or url.startswith(("//", "\\\\")):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.path:
        return None
    path = course_relative_path(unquote(parts.path))
    if path is None:
        return None
    suffix = (f"?{parts.query}" if parts.query else "") + (
        f"#{parts.fragment}" if parts.fragment else ""
    )
    return path, suffix


def is_safe_url(url: str) -> bool:
    scheme = url_scheme(url)
    return scheme is None or scheme in LINK_SCHEMES


def _filtered_classes(tag: str, value: str) -> str | None:
    kept = [
        name
        for name in value.split()
        if name in ALLOWED_CLASSES
        or (tag == "code" and LANGUAGE_CLASS.fullmatch(name))
        or (tag in TABLE_CELLS and name in ALIGNMENT_CLASSES.values())
    ]
    return " ".join(kept) or None


def _filtered_href(value: str, resolve_file: ResolveFile) -> str | None:
    if value.startswith("#"):
        fragment = value[1:]
        return (
            value if not fragment or fragment.startswith(ID_PREFIX) else f"#{ID_PREFIX}{fragment}"
        )
    if url_scheme(value) is not None or value.startswith("//"):
        return value  # nh3 has already dropped every scheme not in LINK_SCHEMES
    course_url = split_course_url(value)
    if course_url is None:
        return None  # absolute paths and paths that climb out of the course
    path, suffix = course_url
    resolved = resolve_file(path) + suffix
    return resolved if is_safe_url(resolved) else None


def _filtered_image_src(value: str, resolve_file: ResolveFile) -> str | None:
    course_url = split_course_url(value)
    if course_url is None:
        return None
    resolved = resolve_file(course_url[0])
    return resolved if is_safe_url(resolved) else None


def _attribute_filter(resolve_file: ResolveFile) -> Callable[[str, str, str], str | None]:
    # nh3 calls this after its own scheme check and does not check what it returns,
    # so every rewritten URL is checked again here.
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "class":
            return _filtered_classes(tag, value)
        if attribute == "href":
            return _filtered_href(value, resolve_file)
        if attribute == "src":
            return _filtered_image_src(value, resolve_file) if tag == "img" else None
        if attribute in ("start", "width", "height", "colspan", "rowspan"):
            return value if NUMBER.fullmatch(value) else None
        return value

    return keep


def _new_cleaner(resolve_file: ResolveFile) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(resolve_file),
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
        id_prefix=ID_PREFIX,
    )


@lru_cache(maxsize=1)
def _default_cleaner() -> nh3.Cleaner:
    return _new_cleaner(default_resolve_file)


def html_cleaner(resolve_file: ResolveFile | None = None) -> nh3.Cleaner:
    """An nh3 cleaner for the allow-list; reuse it for many documents."""
    return _default_cleaner() if resolve_file is None else _new_cleaner(resolve_file)


def sanitise_html(html: str, resolve_file: ResolveFile | None = None) -> str:
    """Clean HTML down to the allow-list (see the module docstring)."""
    return html_cleaner(resolve_file).clean(html)


def render_markdown(text: str, resolve_file: ResolveFile | None = None) -> str:
    """Markdown to sanitised HTML.

    Text Python-Markdown can't take (nested deeper than blocks.MAX_NESTING, with
    many unclosed code fences, or too slow to read: reading_cost.py) is shown as escaped
    plain text instead; the course parser reports it as a problem.
    """
    lines = split_lines(text)
    if (too_deep_line(lines) is not None or len(unclosed_fences(lines)) > MAX_UNCLOSED_FENCES
            or reading_cost(lines, limit=MAX_PIECE_COST).total > MAX_PIECE_COST):
        return plain_text_html(text)
    converter = _thread_markdown()
    converter.reset()
    try:
        raw = converter.convert(text)
    except RecursionError:
        return plain_text_html(text)
    return sanitise_html(raw, resolve_file)


_per_thread = threading.local()


def _thread_markdown() -> markdown.Markdown:
    # Building a converter costs tens of milliseconds and one is not thread-safe,
    # so each thread keeps its own.
    if not hasattr(_per_thread, "markdown"):
        _per_thread.markdown = new_markdown()
    return _per_thread.markdown


def plain_text_html(text: str) -> str:
    return f"<pre>{html_escaping.escape(text)}</pre>"


def unwrap_paragraph(html: str) -> str:
    """`<p>text</p>` -> `text`, for short inline pieces such as answer options; HTML
    with more than one block is returned unchanged."""
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html


@dataclass(frozen=True, slots=True)
class Reference:
    """An image or link found in rendered HTML, for the validator to check."""

    tag: str  # "img" or "a"
    url: str | None
    alt: str | None


class _ReferenceCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Reference] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            values = dict(attrs)
            self.found.append(Reference("img", values.get("src"), values.get("alt")))
        elif tag == "a":
            values = dict(attrs)
            if values.get("href") is not None:
                self.found.append(Reference("a", values["href"], None))

    handle_startendtag = handle_starttag


def collect_references(raw_html: str) -> list[Reference]:
    """Every <img> and <a href> in `raw_html`, in document order."""
    if not MAY_HOLD_REFERENCE.search(raw_html):
        return []  # most pieces have neither; skip the slow pure-Python parser
    collector = _ReferenceCollector()
    collector.feed(raw_html)
    collector.close()
    return collector.found
