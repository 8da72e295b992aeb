"""The one-query reads of a learner's progress give what the fuller reads give."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from tests.support.factories import make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SLUG = "the-five-principles"


def complete_all(session, learner, version, when):
    completion = None
    for item in version.items:
        completion = progress.complete_item(session, learner, version, item.slug, when)
    return completion


def published_state(session, learner, slug, when, code="JESIP-AWARE"):
    return progress.published_item_state(session, learner, code, slug, when).state


def agrees(session, learner, version, when) -> dict[str, str]:
    states = progress.item_states(session, learner, version, when)
    assert {slug: published_state(session, learner, slug, when) for slug in states} == states
    return states


def test_not_started_in_progress_and_completed(session, learner, version):
    assert agrees(session, learner, version, NOW)[SLUG] == "not-started"
    progress.start_item(session, learner, version, SLUG, NOW)
    assert agrees(session, learner, version, NOW)[SLUG] == "in-progress"
    progress.complete_item(session, learner, version, SLUG, NOW)
    assert agrees(session, learner, version, NOW)[SLUG] == "completed"


def test_it_names_the_published_version(session, learner, version):
    found = progress.published_item_state(session, learner, "jesip-aware", SLUG, NOW)
    assert (found.code, found.version_id, found.content_hash) == (
        "JESIP-AWARE", version.id, version.content_hash)


def test_no_course_or_no_published_version(session, learner, version):
    assert progress.published_item_state(session, learner, "NOPE", SLUG, NOW) is None
    version.course.published_version = None
    session.flush()
    assert progress.published_item_state(session, learner, "JESIP-AWARE", SLUG, NOW) is None


def test_another_learners_progress_does_not_count(session, learner, version):
    other = make_user(session)
    complete_all(session, other, version, NOW)
    assert set(agrees(session, learner, version, NOW).values()) == {"not-started"}


def test_the_last_90_days_start_a_new_cycle(session, learner, version):
    first = complete_all(session, learner, version, NOW)
    assert set(agrees(session, learner, version, NOW).values()) == {"completed"}
    renewal = first.expires_at - timedelta(days=30)
    assert set(agrees(session, learner, version, renewal).values()) == {"not-started"}
    progress.start_item(session, learner, version, SLUG, renewal + timedelta(hours=1))
    later = renewal + timedelta(hours=2)
    assert agrees(session, learner, version, later)[SLUG] == "in-progress"
    complete_all(session, learner, version, later)
    assert set(agrees(session, learner, version, later).values()) == {"completed"}


def test_a_version_that_needs_renewal_starts_a_new_cycle(session, learner, version, tmp_path):
    complete_all(session, learner, version, NOW)
    copy = tmp_path / "course"
    shutil.copytree(VALID, copy)
    page = copy / "01-why-interoperability.md"
    page.write_text(page.read_text() + "\nAn important correction.\n")
    courses.import_parsed(session, courses.parse_folders(copy), needs_renewal=True)
    newer = courses.find_version(session, "JESIP-AWARE")
    later = newer.published_at + timedelta(days=1)
    assert set(agrees(session, learner, newer, later).values()) == {"not-started"}
    assert progress.published_item_state(session, learner, "JESIP-AWARE", SLUG,
                                         later).version_id == newer.id


def test_cycle_start_reads_the_cutoff_and_the_latest_completion(session, learner, version):
    assert progress.cycle_start(session, learner, version.course, NOW) is None
    first = complete_all(session, learner, version, NOW)
    assert progress.cycle_start(session, learner, version.course, NOW) is None
    renewal = first.expires_at - timedelta(days=30)
    assert progress.cycle_start(session, learner, version.course, renewal) == NOW
