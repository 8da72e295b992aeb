"""The rules for images and links in a page.

Images must be course files of an inline type with alternative text; links must stay inside
the course or use an allowed scheme. Each problem is reported at the line the image or link
came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jesip_learn.content.blocks import Line
from jesip_learn.content.files import INLINE_IMAGE_TYPES, suffix_of
from jesip_learn.content.problem_log import FileProblems
from jesip_learn.content.render import LINK_SCHEMES, Reference, split_course_url, url_scheme
from jesip_learn.content.suggestions import what_exists


class _LineFinder:
    """Finds the source line an image or link came from, by searching for its URL
    from where the previous search for the same URL stopped."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = lines
        self.next_index: dict[str, int] = {}
        filled = [line for line in lines if line.text.strip()]
        self.fallback = (filled[0] if filled else lines[0]).number if lines else 1

    def line_of(self, url: str) -> int:
        start = self.next_index.get(url, 0)
        for index in range(start, len(self.lines)):
            if url and url in self.lines[index].text:
                self.next_index[url] = index + 1
                return self.lines[index].number
        return self.fallback


def check_references(
    references: Iterable[Reference],
    lines: Sequence[Line],
    files: frozenset[str],
    problems: FileProblems,
) -> None:
    """Images must be course files of an inline type with alternative text; links
    must stay inside the course or use an allowed scheme."""
    finder = _LineFinder(lines)
    for reference in references:
        url = (reference.url or "").strip()
        line = finder.line_of(url)
        if reference.tag == "img":
            _check_image(url, reference.alt, line, files, problems)
        else:
            _check_link(url, line, files, problems)


def _check_image(
    url: str, alt: str | None, line: int, files: frozenset[str], problems: FileProblems
) -> None:
    location_problem = _image_location_problem(url, files)
    if location_problem:
        problems.add(line, location_problem)
    if not (alt or "").strip():
        problems.add(
            line,
            "image has no alternative text: describe it between the "
            "brackets, ![like this](images/photo.png)",
        )


def _image_location_problem(url: str, files: frozenset[str]) -> str | None:
    if not url:
        return "image has no file: write its path in the brackets, ![description](images/photo.png)"
    if url_scheme(url) is not None or url.startswith("//"):
        return (
            "images must be files in the course folder, not web "
            f"addresses or data: URLs ({url[:60]})"
        )
    course_url = split_course_url(url)
    if course_url is None:
        return f"image path must be relative and inside the course folder: {url[:60]}"
    path = course_url[0]
    if suffix_of(path) == ".svg":
        return (
            "SVG images can't be shown in a page; link to it as a "
            f"download instead: [description]({path})"
        )
    if suffix_of(path) not in INLINE_IMAGE_TYPES:
        return f"images must be png, jpg, gif or webp files: {path}"
    if path not in files:
        images = [name for name in files if suffix_of(name) in INLINE_IMAGE_TYPES]
        exist = what_exists(path, images, "the course’s images", "the course has no images yet")
        return f"image not found: {path}{exist}"
    return None


def _check_link(url: str, line: int, files: frozenset[str], problems: FileProblems) -> None:
    if not url or url.startswith("#") or url.startswith("//") or url.startswith("?"):
        return
    scheme = url_scheme(url)
    if scheme is not None:
        if scheme not in LINK_SCHEMES:
            problems.add(
                line,
                "links may go to http(s), mailto or tel addresses, course "
                f"files or #anchors, not {scheme}:",
            )
        return
    course_url = split_course_url(url)
    if course_url is None:
        problems.add(line, f"link must be a relative path inside the course folder: {url[:60]}")
    elif course_url[0] not in files:
        others = [name for name in files if suffix_of(name) != ".md"]
        exist = what_exists(course_url[0], others, "the course’s files",
                            "the course has no files yet")
        problems.add(line, f"linked file not found: {course_url[0]}{exist}")
