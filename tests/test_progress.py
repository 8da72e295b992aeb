"""Progress, completion and renewal."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def complete_all(session, learner, version, when):
    completion = None
    for item in version.items:
        completion = progress.complete_item(session, learner, version, item.slug, when)
    return completion


def test_months_are_added_calendar_wise():
    assert progress.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1).day == 28
    assert progress.add_months(datetime(2024, 1, 31, tzinfo=UTC), 1).day == 29
    assert progress.add_months(datetime(2026, 11, 15, tzinfo=UTC), 12) == datetime(
        2027, 11, 15, tzinfo=UTC)


def test_items_move_from_not_started_to_completed(session, learner, version):
    slug = version.items[0].slug
    assert progress.item_states(session, learner, version, NOW)[slug] == "not-started"
    progress.start_item(session, learner, version, slug, NOW)
    assert progress.item_states(session, learner, version, NOW)[slug] == "in-progress"
    assert progress.complete_item(session, learner, version, slug, NOW) is None
    assert progress.item_states(session, learner, version, NOW)[slug] == "completed"
    status = progress.course_status(session, learner, version.course, NOW)
    assert status.state == "in-progress" and status.items_done == 1


def test_the_last_item_completes_the_course_once(session, learner, version):
    completion = complete_all(session, learner, version, NOW)
    assert completion is not None and completion.version_id == version.id
    assert completion.expires_at == progress.add_months(NOW, version.validity_months)
    assert completion.certificate_code.startswith("JL-")
    again = progress.complete_item(session, learner, version, version.items[0].slug,
                                   NOW + timedelta(days=1))
    assert again is None
    status = progress.course_status(session, learner, version.course, NOW + timedelta(days=1))
    assert status.state == "in-date"


def test_a_completion_becomes_expiring_then_expired(session, learner, version):
    completion = complete_all(session, learner, version, NOW)
    expires = completion.expires_at
    state = lambda when: progress.course_status(session, learner, version.course, when).state  # noqa: E731
    assert state(expires - timedelta(days=91)) == "in-date"
    assert state(expires - timedelta(days=89)) == "expiring"
    assert state(expires + timedelta(seconds=1)) == "expired"


def test_renewal_starts_a_new_cycle_in_the_last_90_days(session, learner, version):
    first = complete_all(session, learner, version, NOW)
    renewal_time = first.expires_at - timedelta(days=30)
    states = progress.item_states(session, learner, version, renewal_time)
    assert set(states.values()) == {"not-started"}
    second = complete_all(session, learner, version, renewal_time)
    assert second is not None and second.expires_at > first.expires_at
    assert progress.verify_certificate(session, first.certificate_code, renewal_time).genuine


def test_a_version_that_needs_renewal_makes_completions_fall_due(session, learner, version,
                                                                 tmp_path):
    complete_all(session, learner, version, NOW)
    copy = tmp_path / "course"
    shutil.copytree(VALID, copy)
    page = copy / "01-why-interoperability.md"
    page.write_text(page.read_text() + "\nAn important correction.\n")
    courses.import_parsed(session, courses.parse_folders(copy), needs_renewal=True)
    newer = courses.find_version(session, version.course.code)
    later = newer.published_at + timedelta(days=1)
    status = progress.course_status(session, learner, version.course, later)
    assert status.state == "expired" and status.items_done == 0
    assert complete_all(session, learner, newer, later) is not None


def test_progress_on_an_unchanged_slug_survives_a_new_version(session, learner, version,
                                                              tmp_path):
    slug = version.items[0].slug
    progress.complete_item(session, learner, version, slug, NOW)
    copy = tmp_path / "course"
    shutil.copytree(VALID, copy)
    page = copy / "02-the-five-principles.md"
    page.write_text(page.read_text() + "\nA typo fixed.\n")
    courses.import_parsed(session, courses.parse_folders(copy))
    newer = courses.find_version(session, version.course.code)
    assert newer.number == 2
    assert progress.item_states(session, learner, newer, NOW)[slug] == "completed"


def test_required_courses_come_from_required_for(session, learner, version):
    training = progress.my_training(session, learner, NOW)
    required = version.required_services and learner.organisation.service in \
        version.required_services and learner.command_role in version.required_roles
    assert bool(training.required) == bool(required)
    assert len(training.required) + len(training.optional) == 1


def test_certificate_verification_names_the_holder_and_says_whether_in_date(session, learner,
                                                                          version):
    completion = complete_all(session, learner, version, NOW)
    result = progress.verify_certificate(session, completion.certificate_code.lower(), NOW)
    assert result.genuine and result.in_date and result.course_title == version.title
    # The holder's name, so whoever checks can match it to the person; never their email.
    assert result.holder == learner.name
    assert learner.email not in repr(result)
    late = progress.verify_certificate(session, completion.certificate_code,
                                       completion.expires_at + timedelta(days=1))
    assert late.genuine and not late.in_date
    assert not progress.verify_certificate(session, "JL-NOPE0-NOPE0", NOW).genuine
