"""Reading an uploaded course zip safely: nothing escapes the course folder, no links,
no encrypted entries, no zip bombs.

Returns the files in memory, for `parse_course_files`; nothing touches the disk.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
from dataclasses import dataclass

from jesip_learn.content.files import is_ignored_path

MAX_ENTRIES = 1000
MAX_TOTAL_BYTES = 50 * 1024 * 1024  # uncompressed, all files together
MAX_FILE_BYTES = 20 * 1024 * 1024
READ_CHUNK = 64 * 1024


class ArchiveError(ValueError):
    """The zip cannot be used; the message says why in words for a trainer."""


@dataclass(frozen=True, slots=True)
class CourseArchive:
    folder_name: str  # the course folder's name inside the zip ("" when files sit at the top)
    files: dict[str, bytes]


def read_course_zip(
    data: bytes, *, max_total_bytes: int = MAX_TOTAL_BYTES, max_entries: int = MAX_ENTRIES
) -> CourseArchive:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise ArchiveError("The file is not a zip file, or it is damaged.") from error
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > max_entries:
            raise ArchiveError(f"The zip holds more than {max_entries} files.")
        names = [_checked_name(info) for info in entries]
        declared = sum(info.file_size for info in entries)
        if declared > max_total_bytes:
            raise ArchiveError(_too_big(max_total_bytes))
        files: dict[str, bytes] = {}
        remaining = max_total_bytes
        for info, name in zip(entries, names, strict=True):
            if is_ignored_path(name):
                continue
            content = _read_limited(archive, info, min(remaining, MAX_FILE_BYTES), name)
            remaining -= len(content)
            if name in files:
                raise ArchiveError(f"The zip holds {name} twice.")
            files[name] = content
    return _strip_common_folder(files)


def _checked_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{name} is encrypted: upload a zip without a password.")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ArchiveError(f"{name} is a link: a course zip may hold only ordinary files.")
    if "\x00" in name or "\\" in name:
        raise ArchiveError(f"{name!r} is not an allowed file name.")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"{name} has an absolute path: paths must stay inside the course.")
    normal = posixpath.normpath(name)
    if normal.startswith("../") or normal == ".." or "/../" in f"/{name}/":
        raise ArchiveError(f"{name} points outside the course folder.")
    return normal


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    """Read an entry, stopping as soon as it passes the limit: declared sizes can lie."""
    chunks, size = [], 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ArchiveError(_too_big(MAX_TOTAL_BYTES))
                chunks.append(chunk)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as error:
        raise ArchiveError(f"{name} could not be read from the zip: {error}") from error
    return b"".join(chunks)


def _too_big(limit: int) -> str:
    return f"The course is too large once unzipped: at most {limit // (1024 * 1024)} MB in all."


def _strip_common_folder(files: dict[str, bytes]) -> CourseArchive:
    """A zip of a course folder holds `folder/course.md`; a zip of its contents holds
    `course.md`. Both are accepted."""
    if "course.md" in files or not files:
        return CourseArchive("", files)
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) == 1 and all("/" in path for path in files):
        top = tops.pop()
        return CourseArchive(top, {path.split("/", 1)[1]: data for path, data in files.items()})
    return CourseArchive("", files)
