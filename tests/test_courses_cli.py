"""`flask courses validate`: problems, then item-writing warnings; only problems fail it."""

from pathlib import Path

import pytest

COURSES = Path(__file__).resolve().parents[1] / "courses"
COURSE_MD = "---\ntitle: Test course\ncode: TEST\n---\n\nOverview.\n"
FLAWED_QUIZ = """---
title: A quiz
pass_mark: 80
---

## Which of these is not a principle?

- [x] Wren
- [ ] Crow
"""


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def course_folder(root: Path, quiz: str) -> Path:
    folder = root / "test-course"
    folder.mkdir()
    (folder / "course.md").write_text(COURSE_MD)
    (folder / "01-q.quiz.md").write_text(quiz)
    return folder


def test_warnings_alone_are_printed_with_file_and_line_and_pass(runner, tmp_path):
    folder = course_folder(tmp_path, FLAWED_QUIZ)
    result = runner.invoke(args=["courses", "validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "test-course/01-q.quiz.md:6: warning: the question asks with “not” without stressing "
        "it: learners read past a negative. Write it as **not** or in capitals, or ask the "
        "question the positive way round",
        "1 course valid: TEST (1 warning)",
    ]


def test_problems_come_first_and_fail_it_with_the_warnings_after(runner, tmp_path):
    folder = course_folder(tmp_path, FLAWED_QUIZ.replace("pass_mark: 80", "pass_mark: 180"))
    result = runner.invoke(args=["courses", "validate", str(folder)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        "test-course/01-q.quiz.md:3: pass_mark must be a number from 0 to 100, not '180'",
        lines[1],
    ]
    assert lines[1].startswith("test-course/01-q.quiz.md:6: warning: the question asks with")


def test_a_bad_show_answers_is_a_problem_that_names_the_values(runner, tmp_path):
    quiz = FLAWED_QUIZ.replace("pass_mark: 80", "pass_mark: 80\nshow_answers: later")
    result = runner.invoke(args=["courses", "validate", str(course_folder(tmp_path, quiz))])
    assert result.exit_code == 1
    assert ("test-course/01-q.quiz.md:4: show_answers must be after-pass, always, never or "
            "after-fail (the same as always), not 'later'") in result.output.splitlines()


def test_the_shipped_courses_are_valid_without_warnings(runner):
    result = runner.invoke(args=["courses", "validate", str(COURSES)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert result.output.startswith("4 courses valid:")
