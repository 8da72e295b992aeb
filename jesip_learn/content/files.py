"""Which files a course folder may hold, and safe handling of paths inside it.

Decisions where content-format.md is silent:
- Pages (`*.md`) live at the top of the course folder; a page in a sub-folder is a
  problem, because nothing would ever show it.
- Hidden files and folders (any part of the path starting with "."), `__MACOSX/`,
  `Thumbs.db` and `desktop.ini` are operating-system clutter that zip tools and file
  managers add: they are ignored silently and are not part of the course or its hash.
- Any other file must be one of ALLOWED_FILE_TYPES; anything else is a problem.
"""

from __future__ import annotations

import posixpath

PAGE_SUFFIX = ".md"
COURSE_PAGE = "course.md"

# Suffix -> media type the web layer should serve the file as.
ALLOWED_FILE_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
}
# Shown inline with <img>. SVG can carry script, so it is only ever offered as a
# download (Content-Disposition: attachment), never placed in a page.
INLINE_IMAGE_TYPES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})

IGNORED_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})

# A 5 KB module is typical. Python-Markdown is quadratic in the length of one
# paragraph (a 1 MB paragraph of links takes a minute), so the limit stays modest.
MAX_PAGE_BYTES = 256 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024  # per image or PDF


def suffix_of(path: str) -> str:
    """Lower-case file ending with its dot ('.png'), or '' when there is none."""
    name = posixpath.basename(path)
    stem, dot, ending = name.rpartition(".")
    return f".{ending.lower()}" if dot and stem else ""


def media_type(path: str) -> str | None:
    """The media type to serve a course file as, or None when it may not be served."""
    return ALLOWED_FILE_TYPES.get(suffix_of(path))


def is_download_only(path: str) -> bool:
    """True for files the web layer must send as attachments (SVG and PDF)."""
    return suffix_of(path) in ALLOWED_FILE_TYPES and suffix_of(path) not in INLINE_IMAGE_TYPES


def is_ignored_path(path: str) -> bool:
    """Operating-system clutter that is silently left out of a course."""
    parts = path.replace("\\", "/").split("/")
    return any(
        (part.startswith(".") and part not in (".", "..")) or part in IGNORED_NAMES
        for part in parts
    )


def course_relative_path(path: str, base: str = "") -> str | None:
    """`path` (relative to the folder `base` inside the course) as a clean path
    relative to the course folder, or None when it is empty, absolute or climbs out.

    Backslashes count as separators, as they do in browsers and Windows zips, so
    `..\\secret` cannot slip past the check.
    """
    path = path.replace("\\", "/")
    if not path or path.startswith("/") or "\0" in path:
        return None
    joined = posixpath.normpath(posixpath.join(base, path))
    if joined in (".", "..") or joined.startswith("../") or joined.startswith("/"):
        return None
    return joined
