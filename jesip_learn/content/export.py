"""Write a course's stored files back out as a folder (the inverse of reading one)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jesip_learn.content.files import course_relative_path


def write_course_folder(
    files: Mapping[str, bytes], dest: str | Path, *, overwrite: bool = False
) -> Path:
    """Write `{relative_path: bytes}` under `dest`, byte for byte, and return `dest`.

    Paths that are absolute or climb out of the folder raise ValueError before anything
    is written, and an existing file raises FileExistsError unless `overwrite` is set,
    so an export never clobbers a trainer's work by accident.
    """
    folder = Path(dest)
    targets: list[tuple[Path, bytes]] = []
    for path, data in sorted(files.items()):
        relative = course_relative_path(path)
        if relative is None:
            raise ValueError(f"refusing to write {path!r}: it is not inside the course folder")
        target = folder.joinpath(*relative.split("/"))
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} already exists")
        targets.append((target, data))
    folder.mkdir(parents=True, exist_ok=True)
    for target, data in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder
