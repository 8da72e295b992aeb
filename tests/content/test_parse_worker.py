"""Parsing in a worker process within a time limit (content/worker.py).

The time limit is the backstop for slow Markdown that reading_cost.py does not know: the
worker is killed when the time is up, and the course gets one problem naming the page it
had reached. Tests use a deliberately tiny limit rather than timing real work.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from jesip_learn.content import FileUrls, parse_course_files, parse_within, worker
from tests.content.helpers import COURSE_MD, FIXTURES, read_folder

VALID = read_folder(FIXTURES / "valid-course")
# Under every reading-cost limit, but slow: 2,000 paragraphs in each of 12 pages.
SLOW_PAGE = ("---\ntitle: Long\n---\n\n" + "A short paragraph, *one* of many.\n\n" * 2_000)
SLOW_COURSE = {"course.md": COURSE_MD,
               **{f"{n:02d}-long-{n}.md": SLOW_PAGE.encode() for n in range(1, 13)}}


@pytest.fixture(autouse=True)
def forget_time_outs():
    worker._time_outs.clear()
    yield
    worker._time_outs.clear()


def test_the_worker_gives_what_parsing_here_gives():
    here = parse_course_files(VALID, display_root="valid")
    there = parse_within(VALID, display_root="valid", seconds=30)
    assert there.ok and not there.timed_out
    assert there.course == here.course and there.problems == here.problems
    assert there.content_hash == here.content_hash and dict(there.sources) == VALID


def test_item_writing_warnings_come_back_from_the_worker():
    quiz = (b"---\ntitle: Check\npass_mark: 50\n---\n\n## Which comes first?\n\n"
            b"- [x] Co-locate\n- [ ] Communicate\n- [ ] All of the above\n")
    files = {**VALID, "09-flawed.quiz.md": quiz}
    here = parse_course_files(files)
    assert here.warnings  # "all of the above"
    assert parse_within(files, seconds=30).warnings == here.warnings


def test_problems_come_back_from_the_worker_with_their_lines():
    files = {**VALID, "course.md": b"---\ntitle: No code\n---\n"}
    assert parse_within(files, seconds=30).problems == parse_course_files(files).problems


def test_file_urls_are_completed_with_the_content_hash():
    result = parse_within(VALID, seconds=30, resolve_file=FileUrls("/files/{content_hash}/{path}"))
    assert result.file_urls == FileUrls("/files/{content_hash}/{path}", result.content_hash)
    module = next(item for item in result.course.items if item.kind == "module")
    assert f'src="/files/{result.content_hash}/images/fcp.png"' in module.html


def test_a_resolver_that_cannot_go_to_the_worker_is_refused():
    with pytest.raises(TypeError, match="FileUrls"):
        parse_within(VALID, seconds=30, resolve_file=lambda path: path)


def test_no_limit_parses_here():
    assert parse_within(VALID, seconds=0).course == parse_course_files(VALID).course


def test_a_parse_that_runs_out_of_time_is_stopped_and_names_the_page_it_reached():
    started = time.monotonic()
    result = parse_within(SLOW_COURSE, seconds=0.5)
    elapsed = time.monotonic() - started
    assert result.timed_out and result.course is None
    (problem,) = result.problems
    # Which page it reached depends on the machine's speed; that it names one does not.
    assert problem.file in SLOW_COURSE
    assert problem.message.startswith("reading this page took longer than 0.5 seconds")
    assert dict(result.sources) == SLOW_COURSE and result.draft.items == ()
    assert elapsed < 10  # a coarse guard: the slow course alone takes longer in full
    for child in multiprocessing.active_children():  # killed, not left running
        assert child.name != "jesip-learn-parse"


def test_the_page_and_line_reached_are_named():
    parse_within(VALID, seconds=60)  # the fork server started: the 2 s are all for reading
    # Ten times the slow course: minutes of work, so 2 s end it on any machine.
    very_slow = {"course.md": COURSE_MD,
                 **{f"{n:03d}-long-{n}.md": SLOW_PAGE.encode() for n in range(1, 121)}}
    result = parse_within(very_slow, seconds=2)
    assert result.timed_out
    (problem,) = result.problems
    assert problem.file in very_slow and problem.file != "course.md"
    assert problem.line in (1, 5)  # reading the page, or rendering its body (line 5)


def test_a_time_out_is_remembered_for_the_same_files(monkeypatch):
    first = parse_within(SLOW_COURSE, seconds=0.3)
    assert first.timed_out
    monkeypatch.setattr(worker, "_run", lambda *args: pytest.fail("parsed again"))
    again = parse_within(SLOW_COURSE, seconds=0.3)
    assert again.timed_out and again.problems == first.problems


def test_a_worker_that_cannot_start_gives_a_problem_not_an_error(monkeypatch):
    def fail(*_args):
        raise worker._WorkerFailed("no processes left")

    monkeypatch.setattr(worker, "_run", fail)
    result = parse_within(VALID, seconds=30)
    assert result.timed_out
    assert "could not be checked just now" in result.problems[0].message
