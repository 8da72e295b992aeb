"""Packages for other learning systems (jesip_learn/packaging): their manifests valid
against ADL's SCORM schemas (from tests/scorm/node_modules, installed by `npm ci`), the
same bytes for the same version, the items they leave out named on their first page, and
`flask courses package` end to end."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.packaging import PackageRefused, build_package
from jesip_learn.courses.packaging.build import parse_for_package
from tests.scorm.harness import SCHEMAS, ensure_node_modules
from tests.scorm.playing import shipped_course, shipped_folders

FORMATS = ("scorm12", "scorm2004", "cmi5")
CMI5 = "{https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd}"
IMSCP12 = "{http://www.imsproject.org/xsd/imscp_rootv1p1p2}"
IMSCP2004 = "{http://www.imsglobal.org/xsd/imscp_v1p1}"


@pytest.fixture(scope="module")
def schemas(tmp_path_factory) -> dict[str, etree.XMLSchema]:
    """SCORM 1.2's and 2004 4th edition's schemas, each one XMLSchema importing every
    namespace a manifest uses."""
    ensure_node_modules()
    folder = tmp_path_factory.mktemp("schemas")
    imports = {
        "scorm12": {
            "http://www.imsproject.org/xsd/imscp_rootv1p1p2": "scorm12edition/imscp_rootv1p1p2.xsd",
            "http://www.adlnet.org/xsd/adlcp_rootv1p2": "scorm12edition/adlcp_rootv1p2.xsd",
        },
        "scorm2004": {
            "http://www.imsglobal.org/xsd/imscp_v1p1": "scorm20044thedition/imscp_v1p1.xsd",
            "http://www.adlnet.org/xsd/adlcp_v1p3": "scorm20044thedition/adlcp_v1p3.xsd",
            "http://www.adlnet.org/xsd/adlseq_v1p3": "scorm20044thedition/adlseq_v1p3.xsd",
            "http://www.adlnet.org/xsd/adlnav_v1p3": "scorm20044thedition/adlnav_v1p3.xsd",
            "http://www.imsglobal.org/xsd/imsss": "scorm20044thedition/imsss_v1p0.xsd",
        },
    }
    loaded = {}
    for name, namespaces in imports.items():
        lines = "".join(f'<xs:import namespace="{namespace}" '
                        f'schemaLocation="{(SCHEMAS / path).as_uri()}"/>'
                        for namespace, path in namespaces.items())
        wrapper = folder / f"{name}.xsd"
        wrapper.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
                           f"{lines}</xs:schema>")
        loaded[name] = etree.XMLSchema(etree.parse(str(wrapper)))
    return loaded


@pytest.fixture(scope="module")
def built() -> dict[tuple[str, str], bytes]:
    """One package per shipped course and format."""
    result = {}
    for folder in shipped_folders():
        course, files = shipped_course(folder)
        for package_format in FORMATS:
            result[folder, package_format] = build_package(
                course, files, version=4, package_format=package_format).data
    return result


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("package_format", ("scorm12", "scorm2004"))
@pytest.mark.parametrize("folder", shipped_folders())
def test_the_manifest_is_valid_against_the_scorm_schemas(built, schemas, folder,
                                                         package_format):
    files = entries(built[folder, package_format])
    manifest = etree.fromstring(files["imsmanifest.xml"])
    schema = schemas[package_format]
    assert schema.validate(manifest), schema.error_log
    namespace = IMSCP12 if package_format == "scorm12" else IMSCP2004
    [resource] = manifest.iter(f"{namespace}resource")
    assert resource.get("href") == "index.html"
    listed = {file.get("href") for file in resource.iter(f"{namespace}file")}
    assert listed == set(files) - {"imsmanifest.xml"}
    [quiz] = [item for item in shipped_course(folder)[0].items if item.kind == "quiz"]
    text = etree.tostring(manifest).decode()
    if package_format == "scorm12":
        assert f"<adlcp:masteryscore>{quiz.pass_mark:g}</adlcp:masteryscore>" in text
        assert "<schemaversion>1.2</schemaversion>" in text
    else:
        assert f">{quiz.pass_mark / 100:g}</imsss:minNormalizedMeasure>" in text
        assert "<schemaversion>2004 4th Edition</schemaversion>" in text


def test_a_manifest_that_breaks_the_schema_is_refused(built, schemas):
    """The validation can fail: a SCO with a scormType the schema does not know."""
    text = entries(built["jesip-awareness", "scorm2004"])["imsmanifest.xml"].decode()
    broken = etree.fromstring(text.replace('adlcp:scormType="sco"',
                                           'adlcp:scormType="lesson"').encode())
    assert not schemas["scorm2004"].validate(broken)


@pytest.mark.parametrize("folder", shipped_folders())
def test_the_cmi5_course_structure_has_one_au_held_to_the_pass_mark(built, folder):
    files = entries(built[folder, "cmi5"])
    structure = etree.fromstring(files["cmi5.xml"])
    assert structure.tag == f"{CMI5}courseStructure"
    course, _ = shipped_course(folder)
    [quiz] = [item for item in course.items if item.kind == "quiz"]
    [au] = structure.iter(f"{CMI5}au")
    assert au.get("moveOn") == "CompletedAndPassed"
    assert float(au.get("masteryScore")) == quiz.pass_mark / 100
    assert au.get("launchMethod") == "AnyWindow"
    assert au.findtext(f"{CMI5}url") == "index.html" and "index.html" in files
    [course_node] = structure.iter(f"{CMI5}course")
    assert course_node.get("id") == f"urn:jesip-learn:course:{course.code}"
    assert au.get("id") == f"urn:jesip-learn:course:{course.code}/package"
    assert "imsmanifest.xml" not in files


def test_cmi5_ids_are_the_sites_own_addresses_when_it_has_one():
    course, files = shipped_course("jesip-awareness")
    package = build_package(course, files, version=1, package_format="cmi5",
                            site_url="https://learn.jesip.example/")
    structure = entries(package.data)["cmi5.xml"].decode()
    assert 'id="https://learn.jesip.example/learn/JESIP-AWARE"' in structure
    assert 'id="https://learn.jesip.example/learn/JESIP-AWARE/package"' in structure


@pytest.mark.parametrize("package_format", FORMATS)
def test_the_same_version_makes_the_same_bytes(built, package_format):
    course, files = shipped_course("jesip-commanders")
    again = build_package(course, files, version=4, package_format=package_format).data
    assert again == built["jesip-commanders", package_format]
    other = build_package(course, files, version=5, package_format=package_format).data
    assert other != again


def test_a_package_holds_the_pages_styles_scripts_and_images():
    sources = {
        "course.md": b"---\ntitle: Pictures\ncode: PICS\n---\nOverview.\n",
        "01-look.md": b"---\ntitle: Look\n---\n![A forward command post](images/fcp.png)\n",
        "images/fcp.png": b"\x89PNG\r\n\x1a\n" + b"0" * 64,
    }
    course = parse_for_package(sources)
    files = entries(build_package(course, sources, version=1, package_format="scorm12").data)
    assert files["course-files/images/fcp.png"] == sources["images/fcp.png"]
    page = files["index.html"].decode()
    assert 'src="course-files/images/fcp.png"' in page
    for name in ("assets/govuk-frontend.min.css", "assets/app.css", "assets/package.css",
                 "assets/scoring.js", "assets/runtime.js", "assets/quiz.js",
                 "assets/scenario.js", "assets/player.js",
                 "assets/govuk-frontend-LICENSE.txt"):
        assert name in files
        assert f'"{name}"' in page or name.endswith(".txt")
    assert "The answers to the quiz are inside this copy of the course" in page


def test_the_player_runs_after_the_scripts_it_connects():
    """Deferred scripts run in the order of their tags: player.js uses the quiz and
    scenario players as it loads, and they use scoring.js."""
    course, files = shipped_course("jesip-commanders")
    page = entries(build_package(course, files, version=1,
                                 package_format="scorm2004").data)["index.html"].decode()
    loaded = re.findall(r'<script src="([^"]+)" defer></script>', page)
    assert loaded == ["assets/scoring.js", "assets/runtime.js", "assets/quiz.js",
                      "assets/scenario.js", "assets/player.js"]


@dataclasses.dataclass(frozen=True)
class StrangeItem:
    """An item of a kind a package cannot play."""

    slug: str
    title: str
    kind: str
    position: int = 9


def test_exercises_and_unknown_kinds_are_left_out_with_a_note():
    course, files = shipped_course("jesip-control-rooms")
    with_extras = dataclasses.replace(course, items=course.items + (
        StrangeItem("shots-fired", "Shots fired at Central Station", "exercise"),
        StrangeItem("hologram", "A hologram briefing", "hologram")))
    package = build_package(with_extras, files, version=1, package_format="scorm2004")
    assert [item.slug for item in package.skipped] == ["shots-fired", "hologram"]
    page = entries(package.data)["index.html"].decode()
    assert "Left out of this copy of the course:" in page
    assert ("Shots fired at Central Station: it is a live multi-agency exercise, run by a "
            "facilitator for several people at once in JESIP Learn.") in page
    assert "A hologram briefing: items of this kind can only be taken in JESIP Learn." in page
    data = json.loads(re.search(r'id="course-data">(.*?)</script>', page).group(1))
    assert [item["slug"] for item in data["items"]] == [item.slug for item in course.items]
    assert 'href="#shots-fired"' not in page
    plain = build_package(course, files, version=1, package_format="scorm2004")
    assert "Left out of this copy" not in entries(plain.data)["index.html"].decode()


def test_a_course_with_nothing_to_play_is_refused():
    course, files = shipped_course("jesip-control-rooms")
    only_exercise = dataclasses.replace(course, items=(
        StrangeItem("shots-fired", "Shots fired", "exercise"),))
    with pytest.raises(PackageRefused, match="nothing a package can play"):
        build_package(only_exercise, files, version=1, package_format="cmi5")
    with pytest.raises(PackageRefused, match="Unknown package format"):
        build_package(course, files, version=1, package_format="aicc")


def test_course_text_cannot_end_the_data_script():
    sources = {
        "course.md": b"---\ntitle: Tricky\ncode: TRICKY\n---\nOverview.\n",
        "01-quiz.quiz.md": (b"---\ntitle: </script><script>alert(1)</script>\npass_mark: 50\n"
                            b"---\n\n## Which?\n\n- [x] One\n- [ ] Two\n"),
    }
    course = parse_for_package(sources)
    page = entries(build_package(course, sources, version=1,
                                 package_format="scorm12").data)["index.html"].decode()
    assert "<script>alert(1)" not in page
    assert page.count("<script") == 6  # the data and the five scripts


# --- through the database and the command line -----------------------------------------


@pytest.fixture
def imported(session):
    courses.import_parsed(session, courses.parse_folders(
        Path(__file__).resolve().parents[1] / "courses"))
    session.commit()


@pytest.mark.parametrize("package_format", FORMATS)
def test_flask_courses_package_writes_the_published_version(app, imported, tmp_path,
                                                            package_format, built):
    out = tmp_path / "package.zip"
    result = app.test_cli_runner().invoke(args=["courses", "package", "jesip-cmd",
                                                str(out), "--format", package_format])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.output
    assert "answers are inside the package" in result.output
    files = entries(out.read_bytes())
    expected = entries(built["jesip-commanders", package_format])
    # The same course files, but this is version 1, not 4.
    assert set(files) == set(expected)
    assert "JESIP-CMD, version 1</span>" in files["index.html"].decode()


def test_flask_courses_package_says_what_is_wrong(app, imported, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "package", "NO-SUCH", str(tmp_path / "x.zip")])
    assert result.exit_code == 1
    assert "No course NO-SUCH is published" in result.output
    result = runner.invoke(args=["courses", "package", "JESIP-AWARE", str(tmp_path / "x.zip"),
                                 "--version", "9"])
    assert result.exit_code == 1
    assert "No course JESIP-AWARE version 9" in result.output
    result = runner.invoke(args=["courses", "package", "JESIP-AWARE",
                                 str(tmp_path / "missing" / "x.zip")])
    assert result.exit_code == 1
    assert "missing is not a folder: make it first" in result.output
    result = runner.invoke(args=["courses", "package", "JESIP-AWARE", str(tmp_path / "x.zip"),
                                 "--format", "aicc"])
    assert result.exit_code == 2
    assert not (tmp_path / "x.zip").exists()
