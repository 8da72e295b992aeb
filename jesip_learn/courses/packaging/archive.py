"""Zips that are the same bytes every time for the same files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

# Every entry gets this date (the earliest a zip can hold) and these permissions, and
# entries go in sorted order, so nothing about when or where a package was built shows.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16


def deterministic_zip(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = FILE_MODE
            info.create_system = 3  # Unix, wherever it is built
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()
