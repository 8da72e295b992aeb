"""Images and PDFs a trainer adds are refused when they could run something.

The attack test found accepted: an SVG whose style hid `url(` behind CSS escapes
(`fill:u\\72l(…)`), PDFs with JavaScript actions, and PNG/HTML polyglots. Each is refused
through the editor's upload and a course zip, with a clear message, and a draft that
already holds one can't be published.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from fpdf import FPDF
from sqlalchemy import select

from jesip_learn.courses import authoring
from jesip_learn.courses.authoring.uploads import content_problem, css_unescaped
from jesip_learn.courses.models import DraftFile

FIXTURES = Path(__file__).parent / "content" / "fixtures" / "valid-course"
PNG = (FIXTURES / "images" / "fcp.png").read_bytes()
SVG_OPEN = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'


def svg(inner: bytes) -> bytes:
    return SVG_OPEN + inner + b"</svg>"


def pdf(catalog_entries: bytes = b"", *more_objects: bytes) -> bytes:
    objects = [b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + catalog_entries + b" >>\nendobj\n",
               b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n", *more_objects]
    return b"%PDF-1.7\n" + b"".join(objects) + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def object_stream(inner: bytes, dictionary: bytes = b"/Type /ObjStm") -> bytes:
    data = zlib.compress(b"6 0 " + inner)
    return (b"5 0 obj\n<< " + dictionary + b" /N 1 /First 4 /Filter /FlateDecode /Length "
            + str(len(data)).encode() + b" >>\nstream\n" + data + b"\nendstream\nendobj\n")


def png_with(kind: bytes, body: bytes, *, at_end: bool = True) -> bytes:
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    where = PNG.rfind(b"IEND") - 4 if at_end else 33  # before IEND, or right after IHDR
    return PNG[:where] + chunk + PNG[where:]


PADDING = b"x" * 2_000  # past the first bytes browsers sniff

HOSTILE = {
    "svg: url( hidden by a hex escape": ("x.svg", svg(b'<rect style="fill:u\\72l(https://evil.example/a)"/>'),
                                         "style refers to other files"),
    "svg: url( hidden by \\75": ("x.svg", svg(b'<rect style="fill:\\75rl(https://evil.example/a)"/>'),
                                 "style refers to other files"),
    "svg: escape written as an entity": (
        "x.svg", svg(b'<rect style="fill:u&#92;72l(https://evil.example/a)"/>'),
        "style refers to other files"),
    "svg: url( written with an entity": (
        "x.svg", svg(b'<rect style="fill:&#117;rl(https://evil.example/a)"/>'),
        "style refers to other files"),
    "svg: six-digit escape and a space": (
        "x.svg", svg(b"<style>rect{fill:u\\000072 l(https://evil.example/a)}</style>"),
        "style refers to other files"),
    "svg: @import behind an escape": ("x.svg", svg(b'<style>@\\69mport "https://e.x/a.css";</style>'),
                                      "style refers to other files"),
    "svg: presentation attribute": ("x.svg", svg(b'<rect fill="url(https://evil.example/a#b)"/>'),
                                    "style refers to other files"),
    "pdf: /JavaScript": ("guide.pdf", pdf(b"/Names << /JavaScript 3 0 R >>"), "/JavaScript"),
    "pdf: /JS written /J#53": ("guide.pdf", pdf(b"", b"3 0 obj\n<< /S /Jav#61Script /J#53 (x) >>"
                                                     b"\nendobj\n"), "/JS"),
    "pdf: /OpenAction to an action": ("guide.pdf", pdf(b"/OpenAction 3 0 R"), "/OpenAction"),
    "pdf: /AA": ("guide.pdf", pdf(b"/AA << /O 3 0 R >>"), "/AA"),
    "pdf: /Launch": ("guide.pdf", pdf(b"", b"3 0 obj\n<< /S /Launch /F (cmd.exe) >>\nendobj\n"),
                     "/Launch"),
    "pdf: /JS in an object stream": (
        "guide.pdf", pdf(b"", object_stream(b"<< /JS (app.alert(1)) >>")), "/JS"),
    "pdf: object stream named /Obj#53tm": (
        "guide.pdf", pdf(b"", object_stream(b"<< /AA << >> >>", b"/Type /Obj#53tm")), "/AA"),
    "pdf: encrypted": ("guide.pdf", pdf(b"", b"trailer << /Encrypt 9 0 R >>\n"), "encrypted"),
    "png: HTML in its first bytes": ("map.png", png_with(b"tEXt", b"c\0<html><script>x</script>",
                                                         at_end=False), "starts with HTML"),
    "png: script in a text chunk": ("map.png", png_with(b"tEXt", b"Comment\0" + PADDING
                                                        + b"<script>alert(1)</script>"),
                                    "holds HTML in its text"),
    "png: svg in a compressed text chunk": (
        "map.png", png_with(b"zTXt", b"Comment\0\0" + zlib.compress(PADDING + b"<svg onload=x>")),
        "holds HTML in its text"),
    "png: iframe after the image ends": ("map.png", PNG + PADDING + b"<iframe src=x>",
                                         "holds HTML in its text"),
    "jpeg: script in a comment": (
        "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xfe\x00\x1e<script>alert(1)</script>\x00\x00\x00" + b"\xff\xda\x00\x08"
        + PADDING + b"\xff\xd9", "HTML"),
}

CLEAN = {
    "the fixture's png": ("map.png", PNG),
    "the fixture's svg": ("jdm.svg", (FIXTURES / "images" / "jdm.svg").read_bytes()),
    "the fixture's pdf": ("guide.pdf", (FIXTURES / "files" / "guide.pdf").read_bytes()),
    "an svg with internal references": ("x.svg", svg(
        b'<defs><linearGradient id="g"/></defs><rect fill="url(#g)" style="stroke:#000"/>')),
    "a pdf that opens at its first page": ("guide.pdf", pdf(b"/OpenAction [3 0 R /FitH null]")),
    "a pdf whose compressed data holds /JS by chance": (
        "guide.pdf", pdf(b"", b"3 0 obj\n<< /Filter /FlateDecode /Length 8 >>\nstream\n"
                              b"x/JS /AA\nendstream\nendobj\n")),
    "a png with ordinary text": ("map.png", png_with(b"tEXt", b"Software\0Paint 1 < 2")),
}

KINDS = {".svg": "svg", ".pdf": "pdf", ".png": "png", ".jpg": "jpeg"}


def kind_of(name: str) -> str:
    return KINDS[Path(name).suffix]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_with_a_reason(name):
    filename, data, words = HOSTILE[name]
    problem = content_problem(kind_of(filename), data)
    assert problem is not None and words in problem, problem


@pytest.mark.parametrize("name", CLEAN)
def test_ordinary_files_are_accepted(name):
    filename, data = CLEAN[name]
    assert content_problem(kind_of(filename), data) is None


def test_the_app_s_own_pdfs_are_accepted():
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Certificate")
    assert content_problem("pdf", bytes(document.output())) is None


def test_css_is_read_as_a_browser_reads_it():
    assert css_unescaped("u\\72l( \\75 rl( \\000075rl( u\\rl( u/* x */rl(") == \
        "url( url( url( url( url("


@pytest.fixture
def trainer(make, organisation):
    return make.user(organisation=organisation, permissions={"trainer"})


@pytest.fixture
def course(session, trainer):
    return authoring.create_course(session, trainer, title="Flood response", code="FLOOD-1")


@pytest.mark.parametrize("name", ["svg: url( hidden by a hex escape", "pdf: /JS written /J#53",
                                  "png: script in a text chunk"])
def test_the_editor_and_the_zip_upload_refuse_them(session, trainer, course, name):
    filename, data, words = HOSTILE[name]
    with pytest.raises(authoring.UploadRefused) as refused:
        authoring.upload_file(session, trainer, course, filename, data)
    assert words in refused.value.message
    files = {"course.md": b"---\ntitle: Flood\ncode: FLOOD-2\n---\n",
             "01-a.md": b"---\ntitle: A\n---\n\nText.\n", f"images/{filename}": data}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(f"flood/{path}", content)
    with pytest.raises(authoring.UploadRefused) as refused:
        authoring.import_zip_as_new_course(session, trainer, buffer.getvalue())
    assert words in refused.value.message


def test_a_draft_holding_one_from_before_is_not_published(session, trainer, course):
    authoring.upload_file(session, trainer, course, "guide.pdf", CLEAN["a pdf that opens at "
                                                                      "its first page"][1])
    row = session.scalar(select(DraftFile).where(DraftFile.path == "files/guide.pdf"))
    hostile = HOSTILE["pdf: /AA"][1]
    row.blob.data, row.blob.size = hostile, len(hostile)  # as if uploaded before the check
    session.flush()
    with pytest.raises(authoring.PublishRefused) as refused:
        authoring.publish_draft(session, trainer, course, needs_renewal=False)
    assert [(p.file, p.line) for p in refused.value.problems] == [("files/guide.pdf", 1)]
    assert "/AA" in refused.value.problems[0].message
