"""The public verification page names a certificate's holder (name, course, dates, status;
never the email), and the certificate's verification address never breaks inside its code,
on the page or in the PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import certificates, progress
from jesip_learn.records.models import Anonymisation
from tests.support.pages import read_page
from tests.support.tagged_pdf import parent_tree, read_tagged_page
from tests.web.test_learn_pages import VALID, complete_course


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


@pytest.fixture
def holder(make, organisation):
    return make.user(organisation=organisation, name="Harriet Holder",
                     email="harriet.holder@northshire.police.uk", command_role="tactical")


def _summary(page) -> dict[str, str]:
    return {row.dt.get_text(" ", strip=True): " ".join(row.dd.get_text(" ", strip=True).split())
            for row in page.soup.select(".govuk-summary-list__row")}


def test_the_verification_page_names_the_holder_course_dates_and_status(
        app, session, holder, course_version):
    completion = complete_course(session, holder, course_version)
    page = read_page(app.test_client().get(f"/verify/{completion.certificate_code.lower()}"))
    assert page.status == 200 and page.h1 == "Check a JESIP Learn certificate"
    assert "Genuine and in date" in page.text
    summary = _summary(page)
    assert summary["Holder"] == "Harriet Holder"
    assert summary["Course"] == (f"{course_version.title} JESIP-AWARE, version "
                                 f"{course_version.number}")
    assert summary["Completed"] == completion.completed_at.strftime("%-d %B %Y")
    assert summary["In date until"] == completion.expires_at.strftime("%-d %B %Y")
    assert summary["Status"] == "In date"
    assert holder.email not in page.text and "northshire" not in page.text.lower()


def test_an_expired_certificate_says_so_and_when(app, session, holder, course_version):
    completion = complete_course(session, holder, course_version)
    completion.completed_at -= timedelta(days=800)
    completion.expires_at = progress.add_months(completion.completed_at, 12)
    session.commit()
    page = read_page(app.test_client().get(f"/verify/{completion.certificate_code}"))
    assert page.status == 200 and "genuine but no longer in date" in page.text
    summary = _summary(page)
    assert summary["Status"] == "Expired"
    assert summary["Expiry date"] == completion.expires_at.strftime("%-d %B %Y")
    assert summary["Holder"] == "Harriet Holder"


def test_an_anonymised_holder_is_not_named(app, session, holder, course_version):
    completion = complete_course(session, holder, course_version)
    session.add(Anonymisation(user_id=holder.id, grounds="request", reason="asked"))
    session.commit()
    result = progress.verify_certificate(session, completion.certificate_code)
    assert result.genuine and result.holder == ""
    page = read_page(app.test_client().get(f"/verify/{completion.certificate_code}"))
    assert page.status == 200 and "Harriet" not in page.text
    assert _summary(page)["Holder"].startswith("No longer held")


def test_an_unknown_code_names_nobody(app):
    page = read_page(app.test_client().get("/verify/JL-NOPE0-NOPE0"))
    assert page.status == 200 and "No certificate has the code JL-NOPE0-NOPE0" in page.text
    assert page.soup.select(".govuk-summary-list") == []


def test_the_certificate_page_keeps_the_code_whole(browser, session, holder, course_version):
    completion = complete_course(session, holder, course_version)
    browser.sign_in(holder.email)
    page = browser.get("/learn/JESIP-AWARE/certificate")
    assert page.status == 200
    link = page.soup.find("a", href=f"http://jesip.test/verify/{completion.certificate_code}")
    # The address may wrap after its last slash (<wbr>), never inside the code.
    assert link.find("wbr") is not None
    assert link.find("span", class_="app-nowrap").get_text() == completion.certificate_code


def _details(verify_url: str, code: str = "JL-ABCDE-FGHJK"):
    return certificates.CertificateDetails(
        learner="Harriet Holder", organisation="Northshire Police", course="JESIP Awareness",
        code="JESIP-AWARE", version=1, completed_at=datetime(2026, 3, 1, tzinfo=UTC),
        expires_at=datetime(2027, 3, 1, tzinfo=UTC), certificate_code=code,
        verify_url=verify_url)


@pytest.mark.parametrize("site", [
    "https://learn.jesip.example",
    "https://training-and-exercising.joint-emergency-services-interoperability.example.org",
    "https://" + "very-long-name-of-a-site." * 8 + "example",
])
def test_the_pdf_never_breaks_the_code_and_states_its_language(site):
    url = f"{site}/verify/JL-ABCDE-FGHJK"
    data = certificates.certificate_pdf(_details(url))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    lines = reader.pages[0].extract_text().splitlines()
    assert any(line.strip().endswith("JL-ABCDE-FGHJK") for line in lines), lines
    assert not any(line.strip().endswith(("JL-", "JL-ABCDE", "JL-ABCDE-")) for line in lines)
    if len(url) < 120:
        assert url in [line.strip() for line in lines]  # the whole address on one line
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert reader.metadata.title == "Certificate: JESIP Awareness, Harriet Holder"
    links = [annotation.get_object()["/A"]["/URI"]
             for annotation in reader.pages[0].get("/Annots", [])]
    assert url in links


@pytest.mark.parametrize("site", [
    "https://learn.jesip.example",
    "https://" + "very-long-name-of-a-site." * 8 + "example",
])
def test_the_pdf_is_tagged_for_screen_readers(site):
    url = f"{site}/verify/JL-ABCDE-FGHJK"
    tagged = read_tagged_page(certificates.certificate_pdf(_details(url)))
    catalog = tagged.catalog
    assert catalog["/MarkInfo"]["/Marked"].value is True
    assert catalog["/Lang"] == "en-GB"
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    # Every word is inside an element, read in the order it is shown; the border is not.
    assert tagged.untagged_text == [] and tagged.untagged_paths == 0
    assert tagged.artifact_paths == 1
    assert [(element.kind, element.text) for element in tagged.elements] == [
        ("P", "JESIP Learn"),
        ("H1", "Certificate of completion"),
        ("P", "This is to certify that"),
        ("P", "Harriet Holder"),
        ("P", "Northshire Police"),
        ("P", "has completed"),
        ("P", "JESIP Awareness"),
        ("P", "JESIP-AWARE, version 1"),
        ("P", "Completed on 1 March 2026"),
        ("P", "In date until 1 March 2027"),
        ("P", "Verification code: JL-ABCDE-FGHJK"),
        ("P", "Anyone can check it at"),
    ]
    # The address is a link inside its paragraph, tied to its annotation both ways.
    links = tagged.elements[-1].kids
    assert {link.kind for link in links} == {"Link"}
    assert "".join(link.text for link in links).replace(" ", "") == url
    assert links[-1].text.endswith("JL-ABCDE-FGHJK")
    tree = parent_tree(tagged.reader)
    page = tagged.reader.pages[0]
    by_mcid = tree[page["/StructParents"]]
    assert len(by_mcid) == len(tagged.text_by_mcid)
    for mcid, node in enumerate(by_mcid):
        assert node.get_object()["/K"][0] == mcid
    for link in links:
        (annotation,) = link.annotations
        assert annotation["/A"]["/URI"] == url
        assert tree[annotation["/StructParent"]].get_object()["/S"] == "/Link"
