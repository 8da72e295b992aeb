"""Reads a tagged PDF's first page back as a screen reader would: the text in each
marked-content sequence, the structure tree in order with each element's text, and what
was drawn outside any element."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject


@dataclass
class Element:
    kind: str
    text: str = ""
    kids: list[Element] = field(default_factory=list)
    annotations: list[DictionaryObject] = field(default_factory=list)


@dataclass
class TaggedPage:
    reader: PdfReader
    elements: list[Element]  # the Document element's kids, in order
    text_by_mcid: dict[int, str]
    untagged_text: list[str]  # text drawn outside marked content
    untagged_paths: int  # lines and shapes painted outside marked content
    artifact_paths: int

    @property
    def catalog(self) -> DictionaryObject:
        return self.reader.trailer["/Root"]


def read_tagged_page(data: bytes) -> TaggedPage:
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    text_by_mcid: dict[int, str] = {}
    marks: list[tuple[str, int | None]] = []
    untagged_text: list[str] = []
    counts = {"untagged": 0, "artifact": 0}

    def before(operator, operands, cm, tm):
        if operator in (b"BDC", b"BMC"):
            properties = operands[1] if operator == b"BDC" else {}
            mcid = properties.get("/MCID") if isinstance(properties, dict) else None
            marks.append((str(operands[0]), mcid))
        elif operator == b"EMC":
            marks.pop()
        elif operator in (b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"):
            if any(tag == "/Artifact" for tag, _ in marks):
                counts["artifact"] += 1
            elif not marks:
                counts["untagged"] += 1

    def text(value, cm, tm, font, size):
        if not value.strip():
            return
        mcid = next((mcid for _, mcid in reversed(marks) if mcid is not None), None)
        if mcid is None:
            untagged_text.append(value)
        else:
            text_by_mcid[mcid] = (text_by_mcid.get(mcid, "") + value).strip()

    page.extract_text(visitor_operand_before=before, visitor_text=text)

    def element(node: DictionaryObject) -> Element:
        found = Element(kind=str(node["/S"]).removeprefix("/"))
        kids = node.get("/K", [])
        for kid in kids if isinstance(kids, ArrayObject) else [kids]:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, int):
                found.text = " ".join(filter(None, [found.text, text_by_mcid.get(kid, "")]))
            elif kid.get("/Type") == "/OBJR":
                found.annotations.append(kid["/Obj"].get_object())
            else:
                found.kids.append(element(kid))
        return found

    root = reader.trailer["/Root"]["/StructTreeRoot"]
    document = root["/K"]
    document = (document[0] if isinstance(document, ArrayObject) else document).get_object()
    assert document["/S"] == "/Document"
    kids = document["/K"]
    return TaggedPage(
        reader=reader,
        elements=[element(kid.get_object()) for kid in kids],
        text_by_mcid=text_by_mcid,
        untagged_text=untagged_text,
        untagged_paths=counts["untagged"],
        artifact_paths=counts["artifact"],
    )


def parent_tree(reader: PdfReader) -> dict[int, object]:
    """The structure tree root's /ParentTree as a dict (a flat /Nums array)."""
    nums = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    return {int(nums[index]): nums[index + 1] for index in range(0, len(nums), 2)}
