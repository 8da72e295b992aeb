"""Tagged PDF on fpdf2, so screen readers can read a generated PDF: a structure tree in
reading order, each element's text in marked content (BDC/EMC with an MCID) that the
page's /StructParents key finds again through the parent tree, link annotations tied to
their Link elements, and decoration marked as an artifact.

fpdf2 (2.8.9, and its development branch) has a structure tree builder but tags only
images and bookmarks with it, and offers no public way to tag text; `TaggedStructure` takes
the builder's place on one document and writes marked content with fpdf2's internal `_out`.
That is why fpdf2 is pinned exactly, and the certificate tests read the tree back. On a
tagged document, use only this module's tagging: fpdf2's own (image alt text, bookmarks,
links with alt text) would number the parent tree's keys its own way.
Imported only where a PDF is made: fpdf2 is several MiB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from fpdf.actions import URIAction
from fpdf.annotations import PDFAnnotation
from fpdf.structure_tree import NumberTree, StructElem, StructureTreeBuilder

if TYPE_CHECKING:
    from fpdf import FPDF


class _ParentTree(NumberTree):
    """fpdf2's number tree maps every key to an array (a page's elements by MCID); an
    annotation's key must lead to its one element instead."""

    def __init__(self) -> None:
        super().__init__()
        self.annotations: dict[int, StructElem] = {}

    def serialize(self, obj_dict=None, _security_handler=None) -> str:
        entries = {
            key: "[" + " ".join(elem.ref for elem in elems) + "]"
            for key, elems in self.nums.items()
        }
        entries |= {key: elem.ref for key, elem in self.annotations.items()}
        nums = " ".join(f"{key} {entries[key]}" for key in sorted(entries))
        return super(NumberTree, self).serialize({"/Nums": f"[{nums}]"}, _security_handler)


class _ObjectReference:
    """An OBJR kid of a structure element: the annotation's object number is known only
    when the PDF is written."""

    def __init__(self, target: PDFAnnotation) -> None:
        self.target = target

    def serialize(self, _security_handler=None, _obj_id=None) -> str:
        return f"<</Type /OBJR /Obj {self.target.ref}>>"


class TaggedStructure(StructureTreeBuilder):
    """The structure tree of `pdf`, built as its content is written: elements under the
    Document element in the order they are opened, which is the reading order."""

    def __init__(self, pdf: FPDF) -> None:
        super().__init__()
        self.pdf = pdf
        self.parent_tree = _ParentTree()
        self.struct_tree_root.parent_tree = self.parent_tree
        self.nested: list[StructElem] = []  # fpdf2 writes only the Document's own kids
        self.next_key = 0  # pages and annotations share the parent tree's keys
        pdf.struct_builder = self
        pdf._set_min_pdf_version("1.4")  # /MarkInfo

    def __iter__(self) -> Iterator:
        yield from super().__iter__()
        yield from self.nested

    def _take_key(self) -> int:
        self.next_key += 1
        return self.next_key - 1

    @contextmanager
    def element(self, kind: str, parent: StructElem | None = None) -> Iterator[StructElem]:
        """An element of type `kind` (P, H1, Link…) holding what is written inside."""
        pdf, page_number = self.pdf, self.pdf.page
        page = pdf.pages[page_number]
        if page.struct_parents is None:
            page.struct_parents = self._take_key()
        elements_on_page = self.parent_tree.nums[page.struct_parents]
        mcid = len(elements_on_page)  # the parent tree's array is indexed by MCID
        parent = parent or self.doc_struct_elem
        elem = StructElem(
            struct_type=f"/{kind}", parent=parent, kids=[mcid], page_number=page_number
        )
        elem.pg = page
        parent.k.append(elem)
        if parent is not self.doc_struct_elem:
            self.nested.append(elem)
        elements_on_page.append(elem)
        pdf._out(f"/{kind} <</MCID {mcid}>> BDC")
        yield elem
        if pdf.page != page_number:
            raise ValueError("a tagged element must not run over a page break")
        pdf._out("EMC")

    @contextmanager
    def artifact(self) -> Iterator[None]:
        """Drawing that is not content (a border), which readers skip."""
        self.pdf._out("/Artifact <</Type /Layout>> BDC")
        yield
        self.pdf._out("EMC")

    @contextmanager
    def link(self, url: str, parent: StructElem) -> Iterator[None]:
        """A Link element in `parent` holding the text written inside, with a link
        annotation over that text which points back at it."""
        pdf = self.pdf
        top = pdf.get_y()
        with self.element("Link", parent) as elem:
            yield
        annotation = PDFAnnotation(
            "Link",
            x=pdf.l_margin * pdf.k,
            y=pdf.h_pt - top * pdf.k,
            width=pdf.epw * pdf.k,
            height=(pdf.get_y() - top) * pdf.k,
            action=URIAction(url),
        )
        annotation.struct_parent = self._take_key()
        self.parent_tree.annotations[annotation.struct_parent] = elem
        elem.k.append(_ObjectReference(annotation))
        pdf.pages[pdf.page].add_annotation(annotation)
