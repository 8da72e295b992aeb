"""What the report writers' tests (tests/unit/test_export*.py) share: a heading, a summary
table and detail rows with awkward values, and the text of a PDF's pages."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from jesip_learn.core.exports.heading import ReportHeading

SPRING = datetime(2026, 3, 31, 14, 5, tzinfo=UTC)  # 15:05 BST in London
WINTER = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)  # 09:30 GMT in London

HEADING = ReportHeading(
    title="Training compliance",
    generated_at=SPRING,
    filters=[("Service", "Police"), ("As of", "31 March 2026")],
    generated_by="Sam Jones",
)
SUMMARY_HEADER = ["Organisation", "Learners in scope", "Compliant", "% compliant"]
SUMMARY_ROWS = [
    ["Avon and Somerset Constabulary", 1234, 1080, 87.5],
    ["Gwasanaeth Tân ac Achub Canolbarth a Gorllewin Cymru", 310, 200, 64.5],
    ["Kent Fire and Rescue Service", 0, 0, None],
]
DETAIL_HEADER = ["Learner", "Organisation", "Course", "Completed", "Expires", "Score"]
DETAIL_ROWS = [
    ["Ann Example", "Avon and Somerset Constabulary", "JESIP-1", date(2025, 4, 1),
     datetime(2027, 4, 1, 23, 30, tzinfo=UTC), 90],
    ["Bob Example", "Kent Fire and Rescue Service", "JESIP-1", None, None, -5],
    ["Cat Example", "Avon and Somerset Constabulary", "JESIP-2", date(2026, 1, 2),
     datetime(2026, 12, 1, 9, 0, tzinfo=UTC), Decimal("72.5")],
]


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def flat(text: str) -> str:
    """PDF text with line breaks taken out, so wrapped text reads as one line."""
    return " ".join(text.split())
