"""The content hash of a course: which exact files a version was made from.

The hash covers the raw bytes of every file, keyed by its path relative to the course
folder, in sorted path order. No line-ending or Unicode normalisation is applied: an
export writes back exactly the bytes that were imported, so export-then-import gives
the same hash, while any edit a trainer makes (even whitespace) makes a new version.
Hidden files (.DS_Store and the like) are never part of a course and are left out
before hashing by the parser.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def content_hash(files: Mapping[str, bytes]) -> str:
    """sha256 hex digest over sorted (path, bytes) pairs.

    Each file is framed as path, NUL, byte length, NUL, bytes, so that no two
    different sets of files can produce the same stream of bytes.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path]
        digest.update(path.encode("utf-8"))
        digest.update(b"\0")
        digest.update(str(len(data)).encode("ascii"))
        digest.update(b"\0")
        digest.update(data)
    return digest.hexdigest()
