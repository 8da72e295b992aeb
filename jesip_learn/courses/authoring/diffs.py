"""What changed between two states of a course folder: files and items. Pure: no database.

Two states are `{path: bytes}` maps (a version, the draft, an uploaded zip). The result is
plain data for an accessible page: for each changed page, rows of (kind, old line number,
new line number, text), so a table can say in words which lines were removed or added
rather than relying on colour.

Decisions:
- A page renumbered by a move keeps its slug, so it is reported as renamed (from its old
  path), not as one page removed and another added. Another file whose bytes moved to a
  new path unchanged is reported as renamed too.
- Items are matched by slug, because learners' progress is: an item whose slug changed
  is reported as removed and added.
- Unchanged lines are shown CONTEXT_LINES either side of each change; longer runs become
  one "skipped" row saying how many lines are not shown.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from jesip_learn.courses.authoring.pages import item_name, outline

CONTEXT_LINES = 3


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of a page's changes.

    kind: "same" (an unchanged line shown for context), "removed" (only in the old page),
    "added" (only in the new page) or "skipped" (`skipped` unchanged lines not shown).
    old_line / new_line are 1-based line numbers, None where the line is not on that side;
    for "skipped" rows they are the first line skipped on each side.
    """

    kind: str
    old_line: int | None
    new_line: int | None
    text: str
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file added, removed, changed or renamed (renamed may be changed too).

    `path` is the file's path in the newer state (in the older one when removed);
    `old_path` is where a renamed file was. `rows` are the line changes of a page (empty
    for images and PDFs, and for a page only renamed); `note` explains a change that has
    no visible line, such as line endings.
    """

    path: str
    change: str  # "added", "removed", "changed" or "renamed"
    old_path: str | None
    is_page: bool
    old_size: int | None
    new_size: int | None
    content_changed: bool
    rows: tuple[DiffRow, ...] = ()
    note: str = ""

    @property
    def lines_added(self) -> int:
        return sum(1 for row in self.rows if row.kind == "added")

    @property
    def lines_removed(self) -> int:
        return sum(1 for row in self.rows if row.kind == "removed")


@dataclass(frozen=True, slots=True)
class ItemChange:
    """An item (module, quiz or scenario) added, removed or changed, matched by slug.

    For "changed": `retitled` (its title changed), `moved` (its place in the order changed)
    and `edited` (its page's content changed) say how; several may hold at once.
    """

    slug: str
    kind: str
    change: str  # "added", "removed" or "changed"
    old_title: str | None
    new_title: str | None
    old_position: int | None
    new_position: int | None
    retitled: bool = False
    moved: bool = False
    edited: bool = False

    @property
    def shown_title(self) -> str:
        """Its title; its slug when its front matter gives none that can be read (a page
        with a mistake in it), never "None"."""
        return self.new_title or self.old_title or f"{self.slug} (no title yet)"


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    files: tuple[FileChange, ...]
    items: tuple[ItemChange, ...]

    @property
    def unchanged(self) -> bool:
        return not self.files

    def _paths(self, change: str) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.change == change)

    @property
    def files_added(self) -> tuple[str, ...]:
        return self._paths("added")

    @property
    def files_removed(self) -> tuple[str, ...]:
        return self._paths("removed")

    @property
    def files_changed(self) -> tuple[str, ...]:
        return self._paths("changed")

    @property
    def files_renamed(self) -> tuple[tuple[str, str], ...]:
        return tuple((f.old_path or "", f.path) for f in self.files if f.change == "renamed")

    def items_where(self, change: str) -> tuple[ItemChange, ...]:
        return tuple(item for item in self.items if item.change == change)

    def as_counts(self) -> dict[str, int]:
        """Short figures for the audit log and headings."""
        return {
            "files_added": len(self.files_added), "files_removed": len(self.files_removed),
            "files_changed": len(self.files_changed),
            "files_renamed": len(self.files_renamed),
            "items_added": len(self.items_where("added")),
            "items_removed": len(self.items_where("removed")),
            "items_changed": len(self.items_where("changed")),
        }


def summarise_changes(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> ChangeSummary:
    return ChangeSummary(files=file_changes(old, new), items=item_changes(old, new))


def file_changes(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[FileChange, ...]:
    changes: list[FileChange] = []
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    for path in sorted(set(old) & set(new)):
        if old[path] != new[path]:
            changes.append(_changed(path, path, old[path], new[path], "changed"))
    renamed_from = _pair_renames(removed, added, old, new)
    for new_path, old_path in renamed_from.items():
        changes.append(_changed(old_path, new_path, old[old_path], new[new_path], "renamed"))
    paired_old = set(renamed_from.values())
    for path in removed:
        if path not in paired_old:
            changes.append(_whole(path, old[path], "removed"))
    for path in added:
        if path not in renamed_from:
            changes.append(_whole(path, new[path], "added"))
    return tuple(sorted(changes, key=lambda change: change.path))


def _pair_renames(removed: list[str], added: list[str], old, new) -> dict[str, str]:
    """New path -> old path, for pages whose slug stayed and files whose bytes stayed."""
    pairs: dict[str, str] = {}
    old_by_slug: dict[tuple[str, str], str] = {}
    for path in removed:
        name = item_name(path)
        if name is not None:
            old_by_slug.setdefault((name.slug.lower(), name.kind), path)
    old_by_digest: dict[str, str] = {}
    for path in removed:
        if item_name(path) is None:
            old_by_digest.setdefault(hashlib.sha256(old[path]).hexdigest(), path)
    for path in added:
        name = item_name(path)
        if name is not None:
            match = old_by_slug.pop((name.slug.lower(), name.kind), None)
        else:
            match = old_by_digest.pop(hashlib.sha256(new[path]).hexdigest(), None)
        if match is not None:
            pairs[path] = match
    return pairs


def _whole(path: str, data: bytes, change: str) -> FileChange:
    is_page = path.lower().endswith(".md")
    rows: tuple[DiffRow, ...] = ()
    if is_page:
        lines = _lines(data)
        kind = "added" if change == "added" else "removed"
        rows = tuple(DiffRow(kind, None if kind == "added" else number,
                             number if kind == "added" else None, text)
                     for number, text in enumerate(lines, start=1))
    return FileChange(path=path, change=change, old_path=None, is_page=is_page,
                      old_size=len(data) if change == "removed" else None,
                      new_size=len(data) if change == "added" else None,
                      content_changed=True, rows=rows)


def _changed(old_path: str, path: str, before: bytes, after: bytes, change: str) -> FileChange:
    is_page = path.lower().endswith(".md")
    content_changed = before != after
    rows: tuple[DiffRow, ...] = ()
    note = ""
    if is_page and content_changed:
        rows = line_rows(_lines(before), _lines(after))
        if not any(row.kind in ("added", "removed") for row in rows):
            rows = ()
            note = "Only line endings or invisible characters changed."
    return FileChange(path=path, change=change,
                      old_path=old_path if change == "renamed" else None, is_page=is_page,
                      old_size=len(before), new_size=len(after),
                      content_changed=content_changed, rows=rows, note=note)


def _lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return lines


def line_rows(old: list[str], new: list[str], context: int = CONTEXT_LINES) -> tuple[DiffRow, ...]:
    """Rows for the changes from `old` lines to `new` lines, with context around them."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    rows: list[DiffRow] = []
    old_seen = new_seen = 0  # lines shown or skipped so far
    for group in matcher.get_grouped_opcodes(context):
        first_old = group[0][1]
        if first_old > old_seen:
            rows.append(DiffRow("skipped", old_seen + 1, new_seen + 1, "",
                                skipped=first_old - old_seen))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows.extend(DiffRow("same", i + 1, j1 + (i - i1) + 1, old[i])
                            for i in range(i1, i2))
                continue
            if tag in ("delete", "replace"):
                rows.extend(DiffRow("removed", i + 1, None, old[i]) for i in range(i1, i2))
            if tag in ("insert", "replace"):
                rows.extend(DiffRow("added", None, j + 1, new[j]) for j in range(j1, j2))
        old_seen, new_seen = group[-1][2], group[-1][4]
    if rows and old_seen < len(old):
        rows.append(DiffRow("skipped", old_seen + 1, new_seen + 1, "",
                            skipped=len(old) - old_seen))
    return tuple(rows)


def item_changes(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[ItemChange, ...]:
    before = {item.slug.lower(): item for item in outline(_pages(old))}
    after = {item.slug.lower(): item for item in outline(_pages(new))}
    changes: list[ItemChange] = []
    for key, item in after.items():
        previous = before.get(key)
        if previous is None or previous.kind != item.kind:
            if previous is not None:
                changes.append(_gone(previous))
            changes.append(ItemChange(item.slug, item.kind, "added", None, item.title, None,
                                      item.position))
            continue
        retitled = previous.title != item.title
        moved = previous.position != item.position
        edited = old[previous.path] != new[item.path]
        if retitled or moved or edited:
            changes.append(ItemChange(item.slug, item.kind, "changed", previous.title,
                                      item.title, previous.position, item.position,
                                      retitled=retitled, moved=moved, edited=edited))
    changes.extend(_gone(item) for key, item in before.items() if key not in after)
    return tuple(sorted(changes, key=lambda c: (c.new_position or c.old_position or 0,
                                                c.change != "removed")))


def _gone(item) -> ItemChange:
    return ItemChange(item.slug, item.kind, "removed", item.title, None, item.position, None)


def _pages(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: data.decode("utf-8", errors="replace") for path, data in files.items()
            if path.lower().endswith(".md")}
