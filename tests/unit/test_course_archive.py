"""Course zips: what a trainer may upload, and what is refused."""

import io
import stat
import zipfile

import pytest

from jesip_learn.content.archive import ArchiveError, read_course_zip


def make_zip(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_a_zipped_course_folder_is_read_with_its_folder_name():
    archive = read_course_zip(make_zip({"my-course/course.md": b"x", "my-course/01-a.md": b"y"}))
    assert archive.folder_name == "my-course"
    assert archive.files == {"course.md": b"x", "01-a.md": b"y"}


def test_a_zip_of_the_folders_contents_is_read_too():
    archive = read_course_zip(make_zip({"course.md": b"x", "images/a.png": b"p"}))
    assert archive.folder_name == "" and set(archive.files) == {"course.md", "images/a.png"}


def test_operating_system_clutter_is_left_out():
    archive = read_course_zip(make_zip({"c/course.md": b"x", "__MACOSX/c/._course.md": b"",
                                        "c/.DS_Store": b""}))
    assert archive.files == {"course.md": b"x"}


@pytest.mark.parametrize("name", ["../evil.md", "c/../../evil.md", "/etc/evil.md",
                                  "C:/evil.md", "c\\..\\evil.md"])
def test_paths_that_escape_the_folder_are_refused(name):
    with pytest.raises(ArchiveError):
        read_course_zip(make_zip({"course.md": b"x", name: b"evil"}))


def test_symbolic_links_are_refused():
    with pytest.raises(ArchiveError, match="is a link"):
        read_course_zip(make_zip({"course.md": b"x"}, link="images/passwd.png"))


def test_zip_bombs_are_refused_before_they_fill_memory():
    bomb = make_zip({"course.md": b"x", "big.md": b"0" * (60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    with pytest.raises(ArchiveError, match="too large once unzipped"):
        read_course_zip(bomb)


def test_a_lying_size_header_is_caught_while_reading():
    data = make_zip({"course.md": b"x", "big.md": b"0" * 4096})
    with pytest.raises(ArchiveError, match="too large"):
        read_course_zip(data, max_total_bytes=1024)


def test_too_many_files_are_refused():
    with pytest.raises(ArchiveError, match="more than 3 files"):
        read_course_zip(make_zip({f"{n}.md": b"x" for n in range(4)}), max_entries=3)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_files_that_are_not_zips_are_refused(data):
    with pytest.raises(ArchiveError, match="not a zip file"):
        read_course_zip(data)


def test_encrypted_entries_are_refused():
    data = bytearray(make_zip({"course.md": b"x"}))
    # Set the "encrypted" flag in the local and central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature) + offset
        data[at] |= 0x1
    with pytest.raises(ArchiveError, match="encrypted"):
        read_course_zip(bytes(data))
