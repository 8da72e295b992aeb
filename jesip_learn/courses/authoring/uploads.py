"""Files a trainer adds to a course, checked by what they hold and not only by their name.
Pure: no database.

- Images (png, jpeg, gif, webp), SVG drawings and PDF documents, as content-format.md
  allows. Each must start with the signature of its type, and its name must say that type.
- SVG can carry script. The site never puts a course's SVG in a page: it is only ever
  served as a download inside a sandbox (see the course file route). Even so an SVG that
  could run anything (script, event handlers, links or references leaving the drawing,
  embedded HTML, a DOCTYPE or entities) is refused rather than rewritten, so that what the
  course holds is exactly the file the trainer chose. Its style sheets and attributes are
  read as a browser's CSS parser would, escapes and comments undone first, so that
  `fill:u\\72l(https://…)` is seen as the `url(` it is.
- A PDF that could run anything when opened (JavaScript, an action on opening or on
  events, launching a program) is refused: its names are read with their #-escapes
  undone, in its objects and in its compressed object streams. An encrypted PDF can't be
  read, so it is refused too.
- An image whose bytes hold HTML (a `<script`, `<html`, `<svg`… in its first kilobyte,
  where browsers look to guess a file's type, or in a PNG text chunk or JPEG comment) is a
  polyglot that a browser could be tricked into running as a page, and is refused.
- Names are made safe: letters, digits, '-' and '_' only, lower case, one ending. Images
  go in `images/`, PDFs in `files/`, as in the example courses.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import zlib
from dataclasses import dataclass

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from jesip_learn.content.files import (
    ALLOWED_FILE_TYPES,
    INLINE_IMAGE_TYPES,
    MAX_PAGE_BYTES,
    suffix_of,
)
from jesip_learn.courses.authoring.errors import UploadRefused

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
    if kind == "pdf":
        return pdf_problem(data)
    return markup_problem(kind, data)


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
            if _active_css(value):  # style="…", and presentation attributes: fill="url(…)"
                return ("The SVG drawing's style refers to other files or script: save it "
                        "without that.")
            if "javascript:" in re.sub(r"\s+", "", value.lower()):
                return "The SVG drawing holds a javascript: address: save it without one."
    return None


def _local_name(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


# CSS escapes: a backslash and 1 to 6 hex digits (and one optional space after them), or
# a backslash and any other character, which stands for itself; a backslash before a line
# break is dropped. Comments separate nothing a browser would then join, but are dropped
# too, so that `u/**/rl(` is caught as well: a refusal that errs on the safe side.
CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})(?:\r\n|[ \t\r\n\f])?|(\r\n|[\r\n\f])|(.))",
                        re.DOTALL)
CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
# Functions and rules that fetch or run something.
ACTIVE_CSS = re.compile(r"@import|expression\(|javascript:|-moz-binding|behaviou?r:|"
                        r"image-set\(|\bimage\(|cross-fade\(|\bsrc\(")


def css_unescaped(css: str) -> str:
    """`css` as a CSS parser reads it: escapes undone, comments removed."""
    def unescape(match: re.Match) -> str:
        hex_digits, line_break, other = match.groups()
        if hex_digits is not None:
            code = int(hex_digits, 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF \
                else "\ufffd"
        return "" if line_break is not None else other

    return CSS_COMMENT.sub("", CSS_ESCAPE.sub(unescape, css))


def _active_css(css: str) -> bool:
    compact = re.sub(r"\s+", "", css_unescaped(css).lower())
    if ACTIVE_CSS.search(compact):
        return True
    return any(not target.strip("'\"").startswith("#")
               for target in re.findall(r"url\(([^)]*)\)?", compact))


# --- PDF ------------------------------------------------------------------------------------

# Names of the entries through which a PDF runs something: JavaScript, an action when it
# is opened or on events (AA: additional actions), launching a program, and the forms and
# multimedia that carry script of their own. The long ones are looked for everywhere, even
# in compressed data, where a chance match is out of the question; the short ones only
# where dictionaries are (a compressed image could hold "/JS" by chance, but not an action
# that runs: that needs /S /JavaScript or /S /Launch, long names). An /OpenAction that is a
# destination (`[3 0 R /Fit]`: open at page 1) is ordinary, and allowed; any other is not.
PDF_ACTIVE_NAMES = {name.lower(): name for name in (
    "JavaScript", "OpenAction", "Launch", "SubmitForm", "ImportData", "RichMedia", "GoToE")}
PDF_ACTIVE_SHORT_NAMES = {name.lower(): name for name in ("JS", "AA", "XFA")}
OPEN_AT_A_PAGE = "openaction["
PDF_NAME = re.compile(rb"/([^\x00\t\n\f\r ()<>\[\]{}/%]*)")
PDF_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
PDF_FILTERS = frozenset({"flatedecode", "fl", "asciihexdecode", "ahx", "lzwdecode", "lzw",
                         "ascii85decode", "a85", "runlengthdecode", "rl", "ccittfaxdecode",
                         "ccf", "jbig2decode", "dctdecode", "dct", "jpxdecode", "crypt"})
MAX_PDF_INFLATED = 64 * 1024 * 1024  # object streams, all together, once decompressed


def pdf_problem(data: bytes) -> str | None:
    """Why a PDF could run something when opened, or None. Names are read with their
    #-escapes undone (`/J#53` is `/JS`), in its objects and in its object streams."""
    dictionaries, object_streams = _pdf_parts(data)
    names = _pdf_names(dictionaries)
    if "encrypt" in names:
        return ("The PDF document is encrypted, so it can't be checked: save it without a "
                "password or restrictions.")
    inflated_total = 0
    for stream, stream_names in object_streams:
        contents = _inflated(stream, stream_names, MAX_PDF_INFLATED - inflated_total)
        if contents is None:
            return ("The PDF document packs its objects in a way that can't be checked: save "
                    "it again with another program (Print to PDF).")
        inflated_total += len(contents)
        names |= _pdf_names(contents)
    short = names & PDF_ACTIVE_SHORT_NAMES.keys()
    long = (names | _pdf_names(data)) & PDF_ACTIVE_NAMES.keys()
    found = sorted([PDF_ACTIVE_SHORT_NAMES[name] for name in short]
                   + [PDF_ACTIVE_NAMES[name] for name in long])
    if found:
        return (f"The PDF document holds /{found[0]}, which runs script or other actions "
                "when it is opened: save it without them (Print to PDF).")
    return None


def _pdf_names(data: bytes) -> set[str]:
    """Every name token, lower case, with its #xx escapes undone; an /OpenAction followed
    by a destination array is given as OPEN_AT_A_PAGE instead."""
    names = set()
    for match in PDF_NAME.finditer(data):
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                      match.group(1)).decode("latin-1").lower()
        if name == "openaction" and data[match.end():match.end() + 64].lstrip()[:1] == b"[":
            name = OPEN_AT_A_PAGE
        names.add(name)
    return names


def _pdf_parts(data: bytes) -> tuple[bytes, list[tuple[bytes, set[str]]]]:
    """The PDF without the data of its filtered (compressed or encoded) streams, where
    dictionaries are; and each object stream (`/Type /ObjStm`) with its dictionary's
    names. Unfiltered streams stay in: their text is read like the rest."""
    kept: list[bytes] = []
    object_streams: list[tuple[bytes, set[str]]] = []
    position = 0
    for match in PDF_STREAM.finditer(data):
        if match.start() < position:
            continue  # inside the stream before
        dictionary_start = data.rfind(b"<<", max(0, match.start() - 4096), match.start())
        stream_names = _pdf_names(data[max(dictionary_start, 0):match.start()])
        start = match.end()
        end = data.find(b"endstream", start)
        end = len(data) if end == -1 else end
        if "objstm" in stream_names:
            object_streams.append((data[start:end], stream_names))
        if stream_names & PDF_FILTERS or "objstm" in stream_names:
            kept.append(data[position:start])
            position = end
    kept.append(data[position:])
    return b"".join(kept), object_streams


def _inflated(stream: bytes, names: set[str], limit: int) -> bytes | None:
    """An object stream's bytes decompressed (FlateDecode, what object streams use in
    practice), at most `limit` bytes; None when it can't be, or would be larger."""
    filters = names & PDF_FILTERS
    if not filters:
        return stream if len(stream) <= limit else None
    if filters - {"flatedecode", "fl"}:
        return None
    inflater = zlib.decompressobj()
    try:
        contents = inflater.decompress(stream.rstrip(b"\r\n"), limit + 1)
    except zlib.error:
        return None
    return contents if len(contents) <= limit else None


# --- images that are also pages -------------------------------------------------------------

# Browsers guess a file's type from its first bytes (WHATWG MIME sniffing reads 1,445): an
# image that starts with HTML can be shown as a page where the type is not sent or not
# believed. Text chunks and comments can carry markup anywhere in the file.
SNIFFED_BYTES = 1445
HTML_MARKUP = re.compile(rb"<(?:script|html|svg|iframe|body|head|object|embed|img|meta|"
                         rb"style|link|form|a\s|!doctype)[\s/>]", re.IGNORECASE)
PNG_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
MAX_IMAGE_TEXT = 1024 * 1024  # decompressed text chunks, all together


def markup_problem(kind: str, data: bytes) -> str | None:
    """Why an image could be read as an HTML page (a polyglot), or None."""
    if HTML_MARKUP.search(data[:SNIFFED_BYTES]):
        return (f"The {TYPE_NAMES[kind]} starts with HTML, so a browser could open it as a "
                "page: save the picture again from an image editor.")
    texts = _png_texts(data) if kind == "png" else _jpeg_comments(data) if kind == "jpeg" \
        else []
    if texts is None:
        return (f"The {TYPE_NAMES[kind]} holds more text than a picture needs: save the "
                "picture again from an image editor.")
    if any(HTML_MARKUP.search(text) for text in texts):
        return (f"The {TYPE_NAMES[kind]} holds HTML in its text, so a browser could open it "
                "as a page: save the picture again from an image editor.")
    return None


def _png_texts(data: bytes) -> list[bytes] | None:
    """The text of a PNG's tEXt, zTXt and iTXt chunks (decompressed); None when there is
    more than MAX_IMAGE_TEXT of it."""
    texts: list[bytes] = []
    total = 0
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind not in PNG_TEXT_CHUNKS:
            if kind == b"IEND":
                texts.append(data[position:])  # anything after the end counts as text
                break
            continue
        text = _png_chunk_text(kind, body, MAX_IMAGE_TEXT - total)
        if text is None:
            return None
        total += len(text)
        texts.append(text)
    return texts


def _png_chunk_text(kind: bytes, body: bytes, limit: int) -> bytes | None:
    if kind == b"tEXt":
        return body if len(body) <= limit else None
    keyword, _, rest = body.partition(b"\0")
    if kind == b"zTXt":
        compressed = rest[1:]
    else:  # iTXt: compression flag, method, language tag, translated keyword, text
        flag = rest[:1]
        parts = rest[2:].split(b"\0", 2)
        text = parts[2] if len(parts) == 3 else b""
        if flag != b"\x01":
            return keyword + b"\0" + rest if len(rest) <= limit else None
        compressed = text
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, limit + 1)
    except zlib.error:
        return body  # not valid compressed text: check the bytes as they are
    return keyword + b"\0" + text if len(text) <= limit else None


def _jpeg_comments(data: bytes) -> list[bytes]:
    """The JPEG's COM segments (and what follows its end marker)."""
    comments: list[bytes] = []
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xD9:  # end of image
            comments.append(data[position + 2:])
            break
        if marker == 0xDA:  # start of scan: image data follows, up to the end marker
            end = data.rfind(b"\xff\xd9")
            if end != -1:
                comments.append(data[end + 2:])
            break
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if marker == 0xFE:
            comments.append(data[position + 4:position + 2 + length])
        position += 2 + length
    return comments
