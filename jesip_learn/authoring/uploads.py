"""Files a trainer adds to a course, checked by what they hold and not only by their name.
Pure: no database.

- Images (png, jpeg, gif, webp), SVG drawings and PDF documents, as content-format.md
  allows. Each must start with the signature of its type, and its name must say that type.
- SVG can carry script. The site never puts a course's SVG in a page: it is only ever
  served as a download inside a sandbox (see the course file route). Even so an SVG that
  could run anything (script, event handlers, links or references leaving the drawing,
  embedded HTML, a DOCTYPE or entities) is refused rather than rewritten, so that what the
  course holds is exactly the file the trainer chose.
- Names are made safe: letters, digits, '-' and '_' only, lower case, one ending. Images
  go in `images/`, PDFs in `files/`, as in the example courses.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from jesip_learn.content.files import (
    ALLOWED_FILE_TYPES,
    INLINE_IMAGE_TYPES,
    MAX_PAGE_BYTES,
    suffix_of,
)

from .errors import UploadRefused

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 80

SIGNATURES = {
    "png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "gif": lambda data: data[:6] in (b"GIF87a", b"GIF89a"),
    "webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
    "pdf": lambda data: data.startswith(b"%PDF-"),
}
TYPE_OF_ENDING = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif",
                  ".webp": "webp", ".svg": "svg", ".pdf": "pdf"}
TYPE_NAMES = {"png": "PNG image", "jpeg": "JPEG image", "gif": "GIF image",
              "webp": "WebP image", "svg": "SVG drawing", "pdf": "PDF document"}

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# Elements that run script, embed other documents or react to events.
SVG_REFUSED_ELEMENTS = frozenset({
    "script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "set",
    "animate", "animatetransform", "animatemotion",
})
HREF_ATTRIBUTES = frozenset({"href", "src"})


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    path: str  # where it goes in the course folder, e.g. images/command-post.png
    kind: str  # png, jpeg, gif, webp, svg or pdf
    media_type: str

    @property
    def markdown(self) -> str:
        """What a trainer writes in a page to use the file."""
        if suffix_of(self.path) in INLINE_IMAGE_TYPES:
            return f"![Describe the picture for people who can't see it]({self.path})"
        return f"[Describe the file, and say it is a download]({self.path})"


def check_upload(filename: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> CheckedUpload:
    """Where an uploaded file goes, if the course may hold it; UploadRefused says why not."""
    path = safe_upload_path(filename)
    if not data:
        raise UploadRefused("The file is empty.", field="file")
    if len(data) > max_bytes:
        raise UploadRefused(f"The file is too big ({len(data) / 1_048_576:.1f} MB): the limit "
                            f"is {max_bytes / 1_048_576:g} MB.", field="file")
    kind = TYPE_OF_ENDING[suffix_of(path)]
    reason = content_problem(kind, data)
    if reason:
        raise UploadRefused(reason, field="file")
    return CheckedUpload(path, kind, ALLOWED_FILE_TYPES[suffix_of(path)])


def safe_upload_path(filename: str) -> str:
    """The course path for an uploaded file's name: its last part, made safe."""
    name = re.split(r"[/\\]", filename or "")[-1]
    ending = suffix_of(name)
    if ending not in TYPE_OF_ENDING:
        raise UploadRefused("Only images (png, jpg, gif, webp or svg) and PDF documents can "
                            "be added to a course.", field="file")
    stem = name[: -len(ending)]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^a-z0-9_]+", "-", ascii_stem.lower()).strip("-_")
    stem = stem[:MAX_NAME_LENGTH].rstrip("-_") or "file"
    folder = "files" if ending == ".pdf" else "images"
    ending = ".jpg" if ending == ".jpeg" else ending
    return posixpath.join(folder, f"{stem}{ending}")


def content_problem(kind: str, data: bytes) -> str | None:
    """Why `data` is not a safe file of `kind`, or None when it is."""
    if kind == "svg":
        return svg_problem(data)
    if not SIGNATURES[kind](data):
        return f"The file is not a {TYPE_NAMES[kind]}, whatever its name says."
    return None


def file_problem(path: str, data: bytes) -> str | None:
    """Why a course may not hold `data` at `path` (a page or any other file), or None."""
    ending = suffix_of(path)
    if ending == ".md":
        if len(data) > MAX_PAGE_BYTES:
            return f"{path} is larger than {MAX_PAGE_BYTES // 1024} KB, the limit for a page."
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return f"{path} is not UTF-8 text: save it as UTF-8."
        if "\x00" in text:
            return f"{path} holds a NUL character, which a page can't hold."
        return None
    if ending not in TYPE_OF_ENDING:
        return (f"{path}: files of this type can't be part of a course: only Markdown pages, "
                "images (png, jpg, gif, webp, svg) and PDF documents.")
    problem = content_problem(TYPE_OF_ENDING[ending], data)
    return f"{path}: {problem}" if problem else None


def svg_problem(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "The SVG drawing is not UTF-8 text."
    if re.search(r"<\?xml-stylesheet", text, re.IGNORECASE):
        return "The SVG drawing refers to a style sheet: save it without one."
    try:
        root = SafeElementTree.fromstring(text.removeprefix("\ufeff"), forbid_dtd=True)
    except DefusedXmlException:
        return "The SVG drawing has a DOCTYPE or entities: save it without them."
    except SafeElementTree.ParseError:
        return "The file is not an SVG drawing: it is not well-formed XML."
    if _local_name(root.tag) != "svg":
        return "The file is not an SVG drawing: its outer element is not <svg>."
    for element in root.iter():
        name = _local_name(element.tag)
        if name in SVG_REFUSED_ELEMENTS:
            return (f"The SVG drawing holds a <{name}> element, which can run script or "
                    "reach outside the drawing: save it without one.")
        if name == "style" and _active_css(element.text or ""):
            return ("The SVG drawing's style refers to other files or script: save it "
                    "without that.")
        for attribute, value in element.attrib.items():
            key = _local_name(attribute)
            if key.startswith("on"):
                return (f"The SVG drawing has an event handler ({key}), which runs script: "
                        "save it without one.")
            if key in HREF_ATTRIBUTES and not value.strip().startswith("#"):
                return ("The SVG drawing links outside itself: save it without links or "
                        "references to other files.")
            if key == "style" and _active_css(value):
                return ("The SVG drawing's style refers to other files or script: save it "
                        "without that.")
            if "javascript:" in re.sub(r"\s+", "", value.lower()):
                return "The SVG drawing holds a javascript: address: save it without one."
    return None


def _local_name(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _active_css(css: str) -> bool:
    compact = re.sub(r"\s+", "", css.lower())
    if "@import" in compact or "expression(" in compact or "javascript:" in compact:
        return True
    return any(not target.strip("'\"").startswith("#")
               for target in re.findall(r"url\(([^)]*)\)", compact))
