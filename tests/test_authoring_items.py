"""A draft's items and files (the domain): adding pages of each kind, renaming, moving and
deleting them, with warnings when learners have progress on them; uploading images and
files, hostile or unusable ones refused with a reason; and the pure rules for titles, slugs
and the names uploads are given."""

import pytest

from jesip_learn.content import ExerciseScript, FileUrls, Quiz, Scenario
from jesip_learn.courses import authoring
from jesip_learn.courses.authoring import pages, uploads
from jesip_learn.courses.models import FileBlob
from tests.support.authoring import PNG, events, item_paths, text_of

CLEAN_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
             b'<rect width="4" height="4"/></svg>')


# --- items: add, rename, move, delete ------------------------------------------------------------


@pytest.mark.parametrize("kind, ending, built", [("module", ".md", None),
                                                 ("quiz", ".quiz.md", Quiz),
                                                 ("scenario", ".scenario.md", Scenario),
                                                 ("exercise", ".exercise.md", ExerciseScript)])
def test_a_new_item_of_each_kind_starts_from_a_page_that_validates(
        session, own_course, trainer, kind, ending, built):
    change = authoring.add_item(session, trainer, own_course, kind=kind,
                                title="Flooding at Riverside")
    assert change.path == f"02-flooding-at-riverside{ending}"
    assert change.problems == ()
    view = authoring.draft_view(session, trainer, own_course)
    assert [(i.kind, i.title, i.position) for i in view.items][-1] == (
        kind, "Flooding at Riverside", 2)
    preview = authoring.preview_page(session, trainer, own_course, change.path)
    assert preview.kind == kind and preview.problems == ()
    if built:
        assert isinstance(preview.item, built)
    event = events(session, "draft.item_added")[-1]
    assert event.details["after"]["path"] == change.path and event.details["before"] is None


def test_new_items_get_free_slugs_and_a_taken_slug_is_refused(session, own_course, trainer):
    first = authoring.add_item(session, trainer, own_course, kind="module", title="Intro")
    again = authoring.add_item(session, trainer, own_course, kind="quiz", title="Intro")
    assert (first.path, again.path) == ("02-intro.md", "03-intro-2.quiz.md")
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.add_item(session, trainer, own_course, kind="module", title="X",
                           slug="INTRO")
    assert refused.value.field == "slug"
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.add_item(session, trainer, own_course, kind="poll", title="X")
    assert refused.value.field == "kind"


def test_a_new_item_can_be_placed_at_a_position(session, own_course, trainer):
    change = authoring.add_item(session, trainer, own_course, kind="module", title="Safety first",
                                position=1)
    assert item_paths(session, trainer, own_course) == ["01-safety-first.md",
                                                        "02-introduction.md"]
    assert change.path == "01-safety-first.md"
    assert ("01-introduction.md", "02-introduction.md") in change.renamed


def test_renaming_a_title_changes_only_the_title_line(session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.rename_item(session, trainer, own_course, page.path,
                                   base_sha256=page.sha256, title="Before you start")
    after = text_of(session, trainer, own_course, page.path).text
    assert after == page.text.replace("title: Introduction", "title: Before you start")
    assert change.path == page.path and change.warnings == ()
    event = events(session, "draft.item_renamed")[-1]
    assert event.details["before"]["title"] == "Introduction"
    assert event.details["after"]["title"] == "Before you start"


def test_a_new_slug_renames_the_file_and_warns_when_learners_have_progress_on_it(
        session, folder_course, admin):
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    change = authoring.rename_item(session, admin, folder_course, page.path,
                                   base_sha256=page.sha256, slug="five-principles")
    assert change.path == "02-five-principles.md"
    assert change.renamed == (("02-the-five-principles.md", "02-five-principles.md"),)
    assert len(change.warnings) == 1 and "will not carry over" in change.warnings[0]
    assert "02-five-principles.md" in item_paths(session, admin, folder_course)
    with pytest.raises(authoring.AuthoringError) as refused:
        authoring.rename_item(session, admin, folder_course, change.path,
                              base_sha256=change.sha256, slug="no spaces please")
    assert refused.value.field == "slug"


def test_a_new_slug_for_an_unpublished_item_needs_no_warning(session, own_course, trainer):
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.rename_item(session, trainer, own_course, page.path,
                                   base_sha256=page.sha256, slug="welcome")
    assert change.path == "01-welcome.md" and change.warnings == ()


def test_moving_uses_a_free_number_when_there_is_one(session, folder_course, admin):
    # The fixture's pages are numbered 01, 02, 05, 06: 03 is free between 02 and 05.
    change = authoring.move_item(session, admin, folder_course, "06-flooding.scenario.md",
                                 position=3)
    assert change.renamed == (("06-flooding.scenario.md", "03-flooding.scenario.md"),)
    assert item_paths(session, admin, folder_course) == [
        "01-why-interoperability.md", "02-the-five-principles.md", "03-flooding.scenario.md",
        "05-check-your-understanding.quiz.md"]
    change = authoring.move_item_by(session, admin, folder_course,
                                    "01-why-interoperability.md", 10)
    assert change.path == "06-why-interoperability.md"


def test_moving_renumbers_only_the_items_whose_place_changes(session, own_course, trainer):
    authoring.add_item(session, trainer, own_course, kind="module", title="Two")
    authoring.add_item(session, trainer, own_course, kind="quiz", title="Three")
    authoring.add_item(session, trainer, own_course, kind="module", title="Four")
    change = authoring.move_item(session, trainer, own_course, "03-three.quiz.md", position=1)
    assert item_paths(session, trainer, own_course) == [
        "01-three.quiz.md", "02-introduction.md", "03-two.md", "04-four.md"]
    assert dict(change.renamed) == {"03-three.quiz.md": "01-three.quiz.md",
                                    "01-introduction.md": "02-introduction.md",
                                    "02-two.md": "03-two.md"}
    up = authoring.move_item_by(session, trainer, own_course, "04-four.md", -1)
    assert up.path == "03-four.md"
    assert not authoring.move_item(session, trainer, own_course, "03-four.md",
                                   position=3).changed
    event = events(session, "draft.item_moved")[0]
    assert event.details["before"] == {"path": "03-three.quiz.md", "position": 3}
    assert event.details["after"] == {"path": "01-three.quiz.md", "position": 1}
    assert authoring.validate_draft(session, trainer, own_course).ok


def test_deleting_an_item_removes_its_page_and_warns_when_it_was_published(
        session, folder_course, admin):
    page = text_of(session, admin, folder_course, "02-the-five-principles.md")
    change = authoring.delete_item(session, admin, folder_course, page.path,
                                   base_sha256=page.sha256)
    assert change.path is None and "leaves the course" in change.warnings[0]
    assert page.path not in item_paths(session, admin, folder_course)
    event = events(session, "draft.item_deleted")[-1]
    assert event.details["before"]["sha256"] == page.sha256 and event.details["after"] is None
    with pytest.raises(authoring.AuthoringError):
        course_md = text_of(session, admin, folder_course, "course.md")
        authoring.delete_file(session, admin, folder_course, "course.md",
                              base_sha256=course_md.sha256)


# --- images and files ---------------------------------------------------------------------


def test_an_uploaded_image_gets_a_safe_name_and_a_link_to_use(session, own_course, trainer):
    change = authoring.upload_file(session, trainer, own_course, "C:\\photos\\..\\Forward Command "
                                   "Post (1).PNG", PNG)
    assert change.path == "images/forward-command-post-1.png"
    assert change.link == ("![Describe the picture for people who can't see it]"
                           "(images/forward-command-post-1.png)")
    data = authoring.draft_file(session, trainer, own_course, change.path)
    assert data.data == PNG and data.media_type == "image/png" and not data.download_only
    page = text_of(session, trainer, own_course, "01-introduction.md")
    change = authoring.save_page(session, trainer, own_course, page.path, page.text +
                                 "\n![A forward command post](images/forward-command-post-1.png)\n",
                                 base_sha256=page.sha256)
    assert change.problems == ()
    preview = authoring.preview_page(session, trainer, own_course, page.path,
                                     resolve_file=FileUrls("/draft-files/{path}"))
    assert 'src="/draft-files/images/forward-command-post-1.png"' in preview.item.html
    event = events(session, "draft.file_uploaded")[-1]
    assert event.details["before"] is None
    assert event.details["after"]["size"] == len(PNG)


@pytest.mark.parametrize("name, data, reason", [
    ("photo.png", b"<html><script>alert(1)</script></html>", "not a PNG image"),
    ("photo.jpg", PNG, "not a JPEG image"),
    ("photo.html", b"<html></html>", "Only images"),
    ("macro.docx", b"PK\x03\x04", "Only images"),
    ("photo.png", b"", "empty"),
    ("big.png", PNG + bytes(6 * 1024 * 1024), "too big"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "<script>"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event handler"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)">'
              b'<text>x</text></a></svg>', "links outside"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
              b'<image x:href="https://evil.example/x.png"/></svg>', "links outside"),
    ("x.svg", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
              b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>', "DOCTYPE"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div/></foreignObject>'
              b'</svg>', "foreignobject"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://e/x.css);'
              b'</style></svg>', "style"),
    ("x.svg", b"<html><body>not svg</body></html>", "not an SVG"),
    ("x.svg", b"<svg", "not well-formed"),
])
def test_hostile_or_unusable_uploads_are_refused_with_a_reason(
        session, own_course, trainer, name, data, reason):
    with pytest.raises(authoring.UploadRefused) as refused:
        authoring.upload_file(session, trainer, own_course, name, data)
    assert reason in refused.value.message and refused.value.field == "file"
    assert not [f for f in authoring.draft_view(session, trainer, own_course).files]


def test_a_clean_svg_and_a_pdf_are_accepted_as_downloads(session, own_course, trainer):
    svg = authoring.upload_file(session, trainer, own_course, "JDM.svg", CLEAN_SVG)
    pdf = authoring.upload_file(session, trainer, own_course, "Guide.pdf", b"%PDF-1.4\n%%EOF")
    assert (svg.path, pdf.path) == ("images/jdm.svg", "files/guide.pdf")
    assert svg.link.startswith("[") and authoring.draft_file(
        session, trainer, own_course, "images/jdm.svg").download_only
    kinds = {f.path: f.kind for f in authoring.draft_view(session, trainer, own_course).files}
    assert kinds == {"images/jdm.svg": "image", "files/guide.pdf": "file"}


def test_uploading_over_a_file_needs_its_current_content(session, own_course, trainer):
    first = authoring.upload_file(session, trainer, own_course, "map.png", PNG)
    newer = PNG + b"newer"
    with pytest.raises(authoring.AuthoringError, match="already has a file") as refused:
        authoring.upload_file(session, trainer, own_course, "map.png", newer)
    assert refused.value.field == "file"
    with pytest.raises(authoring.DraftConflict):
        authoring.upload_file(session, trainer, own_course, "map.png", newer,
                              replace_sha256="0" * 64)
    replaced = authoring.upload_file(session, trainer, own_course, "map.png", newer,
                                     replace_sha256=first.sha256)
    assert replaced.sha256 != first.sha256
    # The first bytes were never published and nothing holds them now: they are gone.
    assert session.get(FileBlob, first.sha256) is None


def test_deleting_an_image_a_page_uses_warns_and_leaves_a_problem(session, folder_course, admin):
    image = next(f for f in authoring.draft_view(session, admin, folder_course).files
                 if f.path == "images/fcp.png")
    change = authoring.delete_file(session, admin, folder_course, image.path,
                                   base_sha256=image.sha256)
    assert "01-why-interoperability.md" in change.warnings[0]
    assert any(p.file == "01-why-interoperability.md" and p.line == 9
               and "image not found" in p.message for p in change.problems)
    # The bytes stay: the published version still holds them.
    assert session.get(FileBlob, image.sha256) is not None
    with pytest.raises(authoring.AuthoringError, match="as an item"):
        page = text_of(session, admin, folder_course, "02-the-five-principles.md")
        authoring.delete_file(session, admin, folder_course, page.path, base_sha256=page.sha256)


# --- titles, slugs and the names of uploads (pure) ----------------------------------------


def test_with_title_keeps_every_other_line():
    text = "---\r\ntitle: >\r\n  Folded\r\n  title\r\nminutes: 3 # note\r\n---\r\nBody\r\n"
    assert pages.with_title(text, "New: title") == (
        '---\r\ntitle: "New: title"\r\nminutes: 3 # note\r\n---\r\nBody\r\n')
    assert pages.with_title("---\nminutes: 1\n---\n", "T") == "---\ntitle: T\nminutes: 1\n---\n"
    assert pages.page_title(pages.with_title("Body only", "T")) == "T"


def test_names_become_safe_slugs_and_paths():
    assert pages.slugify("Joint Decision Model: the 5 stages!") == (
        "joint-decision-model-the-5-stages")
    assert pages.slugify("Café crème") == "cafe-creme"
    assert uploads.safe_upload_path("../../Évacuation Map.JPEG") == "images/evacuation-map.jpg"
    assert uploads.safe_upload_path("..\\x\\guide.pdf") == "files/guide.pdf"
    with pytest.raises(authoring.UploadRefused):
        uploads.safe_upload_path("run.exe")
