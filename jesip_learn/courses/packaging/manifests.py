"""What a learning system reads before it plays a package: `imsmanifest.xml` (SCORM 1.2
and 2004 4th edition, each valid against ADL's schemas) and `cmi5.xml` (cmi5's course
structure).

One SCO (one AU in cmi5) per course: the course's items share one page, one score and
one place to resume, so the learning system records the course as the site does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from jesip_learn.content import Course

SCORM12_NAMESPACES = (
    ' xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"'
    ' xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.imsproject.org/xsd/imscp_rootv1p1p2 imscp_rootv1p1p2.xsd'
    ' http://www.imsglobal.org/xsd/imsmd_rootv1p2p1 imsmd_rootv1p2p1.xsd'
    ' http://www.adlnet.org/xsd/adlcp_rootv1p2 adlcp_rootv1p2.xsd"'
)
SCORM2004_NAMESPACES = (
    ' xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"'
    ' xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"'
    ' xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3"'
    ' xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"'
    ' xmlns:imsss="http://www.imsglobal.org/xsd/imsss"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.imsglobal.org/xsd/imscp_v1p1 imscp_v1p1.xsd'
    ' http://www.adlnet.org/xsd/adlcp_v1p3 adlcp_v1p3.xsd'
    ' http://www.adlnet.org/xsd/adlseq_v1p3 adlseq_v1p3.xsd'
    ' http://www.adlnet.org/xsd/adlnav_v1p3 adlnav_v1p3.xsd'
    ' http://www.imsglobal.org/xsd/imsss imsss_v1p0.xsd"'
)
CMI5_NAMESPACE = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
TITLE_LIMIT = 200  # SCORM 1.2's longest title


def _title(text: str) -> str:
    return escape(text if len(text) <= TITLE_LIMIT else text[:TITLE_LIMIT - 1] + "…")


def _number(value: float) -> str:
    return f"{value:g}"


def safe_identifier(text: str) -> str:
    """Letters, digits, '-', '_' and '.', starting with a letter: an XML ID and a file name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", text) or "course"
    return cleaned if cleaned[0].isalpha() else f"c{cleaned}"


def _identifier(course: Course, version: int) -> str:
    return f"{safe_identifier(course.code)}-v{version}"


def scorm_manifest(course: Course, *, version: int, package_format: str,
                   files: Sequence[str], mastery: float | None) -> str:
    if package_format == "scorm12":
        return _scorm12(course, version, files, mastery)
    return _scorm2004(course, version, files, mastery)


def _file_lines(files: Sequence[str]) -> str:
    return "".join(f"      <file href={quoteattr(path)}/>\n" for path in files)


def _scorm12(course: Course, version: int, files: Sequence[str], mastery: float | None) -> str:
    identifier = _identifier(course, version)
    mastery_line = (f"        <adlcp:masteryscore>{_number(mastery * 100)}</adlcp:masteryscore>\n"
                    if mastery is not None else "")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="{identifier}" version="{version}"{SCORM12_NAMESPACES}>\n'
        "  <metadata>\n"
        "    <schema>ADL SCORM</schema>\n"
        "    <schemaversion>1.2</schemaversion>\n"
        "  </metadata>\n"
        f'  <organizations default="{identifier}-org">\n'
        f'    <organization identifier="{identifier}-org">\n'
        f"      <title>{_title(course.title)}</title>\n"
        f'      <item identifier="{identifier}-sco" identifierref="{identifier}-resource" '
        'isvisible="true">\n'
        f"        <title>{_title(course.title)}</title>\n"
        f"{mastery_line}"
        "      </item>\n"
        "    </organization>\n"
        "  </organizations>\n"
        "  <resources>\n"
        f'    <resource identifier="{identifier}-resource" type="webcontent" '
        'adlcp:scormtype="sco" href="index.html">\n'
        f"{_file_lines(files)}"
        "    </resource>\n"
        "  </resources>\n"
        "</manifest>\n"
    )


def _scorm2004(course: Course, version: int, files: Sequence[str],
               mastery: float | None) -> str:
    identifier = _identifier(course, version)
    if mastery is not None:
        # The learning system holds the score to the quiz's pass mark (cmi.scaled_passing_score).
        objective = (
            '            <imsss:primaryObjective objectiveID="quiz-pass-mark" '
            'satisfiedByMeasure="true">\n'
            f"              <imsss:minNormalizedMeasure>{_number(mastery)}"
            "</imsss:minNormalizedMeasure>\n"
            "            </imsss:primaryObjective>\n")
    else:
        objective = '            <imsss:primaryObjective objectiveID="course-complete"/>\n'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="{identifier}" version="{version}"{SCORM2004_NAMESPACES}>\n'
        "  <metadata>\n"
        "    <schema>ADL SCORM</schema>\n"
        "    <schemaversion>2004 4th Edition</schemaversion>\n"
        "  </metadata>\n"
        f'  <organizations default="{identifier}-org">\n'
        f'    <organization identifier="{identifier}-org">\n'
        f"      <title>{_title(course.title)}</title>\n"
        f'      <item identifier="{identifier}-sco" identifierref="{identifier}-resource">\n'
        f"        <title>{_title(course.title)}</title>\n"
        "        <imsss:sequencing>\n"
        "          <imsss:objectives>\n"
        f"{objective}"
        "          </imsss:objectives>\n"
        '          <imsss:deliveryControls completionSetByContent="true" '
        'objectiveSetByContent="true"/>\n'
        "        </imsss:sequencing>\n"
        "      </item>\n"
        "      <imsss:sequencing>\n"
        '        <imsss:controlMode choice="true" flow="true"/>\n'
        "      </imsss:sequencing>\n"
        "    </organization>\n"
        "  </organizations>\n"
        "  <resources>\n"
        f'    <resource identifier="{identifier}-resource" type="webcontent" '
        'adlcp:scormType="sco" href="index.html">\n'
        f"{_file_lines(files)}"
        "    </resource>\n"
        "  </resources>\n"
        "</manifest>\n"
    )


def course_iri(course: Course, site_url: str) -> str:
    """The course's activity id: the site's own (as its xAPI statements name the course)
    when the site's address is known, else a URN that names it as well."""
    base = site_url.rstrip("/")
    return f"{base}/learn/{course.code}" if base else f"urn:jesip-learn:course:{course.code}"


def cmi5_course_structure(course: Course, *, version: int, site_url: str,
                          mastery: float | None) -> str:
    iri = course_iri(course, site_url)
    mastery_attribute = f' masteryScore="{_number(mastery)}"' if mastery is not None else ""
    move_on = "CompletedAndPassed" if mastery is not None else "Completed"
    description = escape(course.summary or course.title)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<courseStructure xmlns="{CMI5_NAMESPACE}">\n'
        f"  <course id={quoteattr(iri)}>\n"
        f'    <title><langstring lang="en-GB">{escape(course.title)}</langstring></title>\n'
        f'    <description><langstring lang="en-GB">{description}</langstring></description>\n'
        "  </course>\n"
        f"  <au id={quoteattr(f'{iri}/package')} moveOn=\"{move_on}\"{mastery_attribute}"
        ' launchMethod="AnyWindow">\n'
        f'    <title><langstring lang="en-GB">{escape(course.title)}</langstring></title>\n'
        f'    <description><langstring lang="en-GB">{description}</langstring></description>\n'
        "    <url>index.html</url>\n"
        "  </au>\n"
        "</courseStructure>\n"
    )
