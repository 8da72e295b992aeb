"""A quiz's `show_answers` front matter: when learners see its right answers."""

from __future__ import annotations

import pytest

from jesip_learn.content import parse_course_files
from jesip_learn.content.serialise import item_from_data, item_to_data
from tests.content.helpers import COURSE_MD, page

QUESTION = "\n## Which?\n\n- [x] Right\n- [ ] Wrong\n"


def parsed(front_matter: str):
    return parse_course_files({"course.md": COURSE_MD,
                               "01-q.quiz.md": page(f"title: A quiz\n{front_matter}", QUESTION)})


@pytest.mark.parametrize(("written", "meant"), [
    ("", "after-pass"),
    ("show_answers: after-pass", "after-pass"),
    ("show_answers: always", "always"),
    ("show_answers: after-fail", "always"),
    ("show_answers: Never", "never"),
    ("show_answers: ' always '", "always"),
])
def test_the_setting_is_read_with_after_pass_by_default(written, meant):
    result = parsed(f"pass_mark: 80\n{written}")
    assert result.ok, result.problems
    quiz = result.course.items[0]
    assert quiz.show_answers == meant
    assert item_from_data("quiz", item_to_data(quiz)).show_answers == meant


@pytest.mark.parametrize("value", ["sometimes", "yes", "true", "[always]", "3"])
def test_any_other_value_is_a_problem_naming_the_values_allowed(value):
    result = parsed(f"pass_mark: 80\nshow_answers: {value}")
    assert [(p.file, p.line) for p in result.problems] == [("01-q.quiz.md", 4)]
    message = result.problems[0].message
    assert message.startswith("show_answers must be after-pass, always, never or after-fail "
                              "(the same as always), not ")


def test_a_quiz_stored_before_the_setting_existed_shows_answers_after_a_pass():
    quiz = parsed("pass_mark: 80").course.items[0]
    stored = item_to_data(quiz)
    del stored["show_answers"]
    assert item_from_data("quiz", stored).show_answers == "after-pass"
