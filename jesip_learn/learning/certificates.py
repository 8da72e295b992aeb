"""Certificates of completion as PDF. The verification code on each lets anyone check it at
/verify/CODE, which names the holder, the course, its dates and whether it is in date.

The PDF is tagged for screen readers (`pdf_tags`): a heading and paragraphs in reading
order, the address a link inside its paragraph, the border an artifact; it states its
language, and its title is what a viewer's window shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.structure_tree import StructElem

    from jesip_learn.core.pdf_tags import TaggedStructure

FONT_FOLDER = resources.files("jesip_learn.data").joinpath("fonts")


@dataclass(frozen=True, slots=True)
class CertificateDetails:
    learner: str
    organisation: str
    course: str
    code: str
    version: int
    completed_at: datetime
    expires_at: datetime | None
    certificate_code: str
    verify_url: str


def long_date(moment: datetime) -> str:
    return moment.strftime("%-d %B %Y")


def certificate_pdf(details: CertificateDetails) -> bytes:
    from fpdf import FPDF, ViewerPreferences  # several MiB: loaded by the first certificate

    from jesip_learn.core.pdf_tags import TaggedStructure

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Certificate: {details.course}, {details.learner}")
    pdf.set_subject(f"{details.learner} completed {details.course} ({details.code}, version "
                    f"{details.version}); verification code {details.certificate_code}")
    pdf.set_author("JESIP Learn")
    pdf.set_lang("en-GB")
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.set_creation_date(details.completed_at)
    with resources.as_file(FONT_FOLDER) as folder:
        pdf.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
    tags = TaggedStructure(pdf)
    pdf.add_page()
    with tags.artifact():
        pdf.set_draw_color(11, 12, 12)
        pdf.set_line_width(1.5)
        pdf.rect(10, 10, 277, 190)
    pdf.set_y(30)
    line = _writer(pdf, tags)
    line("JESIP Learn", 14, bold=True)
    line("Certificate of completion", 28, bold=True, gap=10, kind="H1")
    line("This is to certify that", 14)
    line(details.learner, 24, bold=True)
    line(details.organisation, 14, gap=6)
    line("has completed", 14)
    line(details.course, 22, bold=True)
    line(f"{details.code}, version {details.version}", 12, gap=8)
    line(f"Completed on {long_date(details.completed_at)}", 14)
    if details.expires_at:
        line(f"In date until {long_date(details.expires_at)}", 14, bold=True, gap=10)
    else:
        line("This course does not expire", 14, gap=10)
    line(f"Verification code: {details.certificate_code}", 12, bold=True)
    paragraph = line("Anyone can check it at", 11, gap=0)
    _address(pdf, tags, paragraph, details.verify_url, details.certificate_code)
    return bytes(pdf.output())


def _address(pdf: FPDF, tags: TaggedStructure, paragraph: StructElem, url: str, code: str,
             size: float = 11, smallest: float = 7) -> None:
    """The verification address on one line, a link, in smaller type when a long site
    address needs it: broken across lines, a code is easily copied wrong. Should even the
    smallest type not fit, the break comes before the code, never inside it."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("DejaVu", "", size)
    while pdf.get_string_width(url) > width and size > smallest:
        size -= 0.5
        pdf.set_font("DejaVu", "", size)
    if pdf.get_string_width(url) > width:
        with tags.link(url, paragraph):
            pdf.multi_cell(0, size * 0.5, url.removesuffix(code), align="C",
                           new_x="LMARGIN", new_y="NEXT")
        url_line = code
    else:
        url_line = url
    with tags.link(url, paragraph):
        pdf.cell(0, size * 0.5, url_line, align="C", new_x="LMARGIN", new_y="NEXT")


def _writer(pdf: FPDF, tags: TaggedStructure):
    def line(text: str, size: int, *, bold: bool = False, gap: float = 2,
             kind: str = "P") -> StructElem:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        with tags.element(kind) as elem:
            pdf.multi_cell(0, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)
        return elem

    return line
