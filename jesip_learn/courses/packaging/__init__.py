"""Courses that travel: a published course version as a package for another learning
system, SCORM 1.2, SCORM 2004 (4th edition) or cmi5.

A package is static: one page (`index.html`) holding the course's modules, quiz and
scenarios as the same sanitised HTML the site shows, GOV.UK Frontend's styles, and small
scripts that score in the browser by the course's own rules (`assets/scoring.js` mirrors
`jesip_learn/scoring.py`, and a test holds them to the same answers), talk to the
learning system (`runtime.js`), play the quizzes (`quiz.js`) and the scenarios
(`scenario.js`), and show the pages and keep the learner's place (`player.js`). So the
answers live in the package, where a browser can read them: that is the nature of SCORM
and cmi5, and the package's first page and the trainer's course page both say so.

    package = build_package(course, files, version=3, package_format="scorm2004")
    Path(package.filename).write_bytes(package.data)   # the same version: the same bytes

Items a package cannot play (live exercises, run by a facilitator, and any kind it does
not know) are left out, each named in a note on the package's first page.

Imports no Flask: `build` works on a parsed course and its files alone, and
`versions` loads a stored version from the database and records the download.
"""

from jesip_learn.courses.packaging.build import (
    FORMATS,
    PLAYABLE_KINDS,
    Package,
    PackageRefused,
    SkippedItem,
    build_package,
    package_filename,
    player_data,
)

__all__ = [
    "FORMATS",
    "PLAYABLE_KINDS",
    "Package",
    "PackageRefused",
    "SkippedItem",
    "build_package",
    "package_filename",
    "player_data",
]
