"""Give every reference between files in static/ the fingerprint of the file it names.

Pages link static files with `?v=` and the first 16 hex digits of the file's SHA-256
(`jesip_learn.web.edge.static_fingerprint`), so each version of a file has its own address,
kept by browsers for a year. The files those load in turn are named inside them: images
and fonts in stylesheets (`url(...)`), modules in scripts (`import ... from "..."`). This
rewrites those references, in place, to a path relative to the file (so the site works
under any path prefix) with `?v=` and the fingerprint of the file named; a file is
rewritten only after the files it names, so its own fingerprint changes whenever any of
theirs does. Because the files on disk hold the fingerprints, nginx can serve static/
itself (README, "Static files").

A url() to an image deliberately left out of the vendored GOV.UK Frontend (the crest,
reserved for GOV.UK) becomes `none`; any other reference to a file that is not there is an
error. Run by `make vendor-frontend`, and on its own after changing a file in static/:

    python scripts/fingerprint_static.py          # rewrite
    python scripts/fingerprint_static.py --check  # exit 1 if anything is out of date
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
URL_PATH = "/static/"
FINGERPRINT_DIGITS = 16
# The crown and GOV.UK's own branding: GOV.UK Frontend's CSS names them, but they are
# never vendored (scripts/vendor-frontend.sh).
NOT_VENDORED = re.compile(r"(^|/)(govuk-crest\.svg|govuk-icon-[^/]*|[^/]*crown[^/]*)$")

CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')\s]+)\1\s*\)""")
JS_IMPORT = re.compile(r"""(\bimport\b[^"';]*?\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\2""")


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:FINGERPRINT_DIGITS]


class Missing(Exception):
    pass


def _target(root: Path, source: Path, reference: str) -> Path | None:
    """The file in static/ a reference names, or None for one outside the site's files
    (data: URIs, other sites, fragments)."""
    path = reference.split("?", 1)[0].split("#", 1)[0]
    if not path or re.match(r"^[a-z][a-z0-9+.-]*:|^//|^#", reference, re.IGNORECASE):
        return None
    if path.startswith(URL_PATH):
        relative = path[len(URL_PATH) :]
    elif path.startswith("/"):
        return None
    else:
        folder = posixpath.dirname(source.relative_to(root).as_posix())
        relative = posixpath.normpath(posixpath.join(folder, path))
    if relative.startswith(".."):
        return None
    return root / relative


def _reference(root: Path, source: Path, target: Path, data: bytes) -> str:
    relative = posixpath.relpath(
        target.relative_to(root).as_posix(),
        posixpath.dirname(source.relative_to(root).as_posix()) or ".",
    )
    if not relative.startswith("."):
        relative = "./" + relative  # a module specifier must start with / or ./ or ../
    return f"{relative}?v={fingerprint(data)}"


def rewritten(
    root: Path,
    path: Path,
    contents: dict[Path, bytes],
    done: set[Path],
    visiting: tuple[Path, ...] = (),
) -> bytes:
    """The file's bytes with every reference fingerprinted, the files it names first."""
    if path in done:
        return contents[path]
    if path in visiting:
        raise Missing(
            f"{path.relative_to(root)} names itself through "
            + " -> ".join(p.name for p in visiting)
        )
    text = path.read_bytes().decode("utf-8")
    pattern, group = (CSS_URL, 2) if path.suffix == ".css" else (JS_IMPORT, 3)

    def replace(match: re.Match) -> str:
        reference = match.group(group)
        target = _target(root, path, reference)
        if target is None:
            return match.group(0)
        if not target.is_file():
            if path.suffix == ".css" and NOT_VENDORED.search(target.name):
                return "none"
            raise Missing(f"{path.relative_to(root)} names {reference}, which is not in static/")
        data = (
            rewritten(root, target, contents, done, (*visiting, path))
            if target.suffix in (".css", ".js")
            else target.read_bytes()
        )
        start, end = match.span(group)
        whole = match.group(0)
        offset = match.start(0)
        return (
            whole[: start - offset] + _reference(root, path, target, data) + whole[end - offset :]
        )

    contents[path] = pattern.sub(replace, text).encode("utf-8")
    done.add(path)
    return contents[path]


def fingerprint_all(root: Path = STATIC) -> dict[Path, bytes]:
    """Every stylesheet and script in `root` as it should be, by path."""
    contents: dict[Path, bytes] = {}
    done: set[Path] = set()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".css", ".js") and path.is_file():
            rewritten(root, path, contents, done)
    return contents


def stale_files(root: Path = STATIC) -> dict[Path, bytes]:
    """The stylesheets and scripts whose references are out of date, with what they should
    hold."""
    return {path: data for path, data in fingerprint_all(root).items() if path.read_bytes() != data}


def main(arguments: list[str]) -> int:
    check = "--check" in arguments
    try:
        stale = stale_files()
    except Missing as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    for path, data in stale.items():
        name = path.relative_to(STATIC.parent)
        if check:
            print(
                f"out of date: {name} (run: python scripts/fingerprint_static.py)", file=sys.stderr
            )
        else:
            path.write_bytes(data)
            print(f"  fingerprinted the references in {name}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
