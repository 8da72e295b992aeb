"""Moodle question banks in GIFT format (jesip_learn/content/gift.py), against a bank that
uses every feature of the format (fixtures/gift/every-feature.gift, written from Moodle's
documentation of GIFT): what our format holds is converted and plays as written; every
other question is listed with its line and the reason, never changed into something else.
And `flask courses gift-import` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from jesip_learn.content import parse_course_files
from jesip_learn.content.gift import (
    GiftRefused,
    add_questions,
    import_into_page,
    new_quiz_page,
    parse_gift,
    read_bank,
)

BANK = Path(__file__).parent / "fixtures" / "gift" / "every-feature.gift"
COURSE_PAGE = b"---\ntitle: Imported\ncode: IMPORTED\n---\nOverview.\n"


def quiz_of(page: str):
    """The quiz as learners get it, and the problems the page has (none expected)."""
    result = parse_course_files({"course.md": COURSE_PAGE, "01-bank.quiz.md": page.encode()})
    return result.draft.items[0], [str(problem) for problem in result.problems]


@pytest.fixture(scope="module")
def imported():
    bank = parse_gift(BANK.read_text())
    quiz, problems = quiz_of(add_questions(new_quiz_page("Bank"), bank.questions, set()))
    assert problems == []
    return bank, {question.id: question for question in quiz.questions}, quiz


def options(question) -> list[tuple[str, bool]]:
    return [(option.html, option.correct) for option in question.options]


def test_every_question_the_format_cannot_hold_is_listed_with_its_line(imported):
    bank, _, _ = imported
    assert [(s.line, s.name, s.reason) for s in bank.skipped] == [
        (46, "Numerical", "a numerical question: our quizzes have no number answers"),
        (48, "Numerical range", "a numerical question: our quizzes have no number answers"),
        (50, "Short answer", "a short-answer question (typed answers): our quizzes have "
                             "choice and ordering questions only"),
        (52, "Short answer with partial credit", "a short-answer question (typed answers, "
         "with partial credit): our quizzes have choice and ordering questions only"),
        (54, "Essay", "an essay question needs a person to mark it; our quizzes mark "
                      "themselves"),
        (56, "Matching", "a matching question: our quizzes have no matching questions"),
        (62, "Description", "a description (text with no answers) is not a question"),
        (64, "Partial single", "an answer gives partial credit, which our quizzes cannot "
                               "give"),
        (66, "Two right singles", "more than one answer gives full marks, and a "
                                  "single-answer question here has one right answer"),
        (68, "Uneven multiple", "its right answers carry different or partial marks, which "
         "our quizzes cannot give (a question becomes select-all-that-apply only when its "
         "right answers share the marks equally)"),
        (70, "No right answer", "none of its answers is right"),
        (72, "Repeated answers", "two of its answers are the same (Same)"),
    ]
    assert bank.skipped[0].describe("bank.gift") == (
        "bank.gift:46: skipped (Numerical): a numerical question: our quizzes have no "
        "number answers")


def test_single_choice_with_feedback_as_the_explanation(imported):
    _, questions, _ = imported
    question = questions["co-locate-first"]
    assert question.kind == "single"
    assert question.title == "Which principle should commanders apply first on arrival?"
    assert options(question) == [("Co-locate", True), ("Communicate", False),
                                 ("Co-ordinate", False), ("Jointly understand risk", False)]
    explanation = question.explanation_html
    assert "Co-locating first makes the other four principles easier." in explanation
    assert "Right: meeting face to face makes the rest easier." in explanation
    assert "Talking matters, but meeting comes first." in explanation


def test_right_answers_sharing_the_marks_become_select_all_that_apply(imported):
    _, questions, _ = imported
    question = questions["stages-of-the-jdm"]
    assert question.kind == "multiple"
    assert options(question) == [
        ("Gather information and intelligence", True),
        ("Assess risks and develop a working strategy", True),
        ("Declare a major incident", False), ("Take action and review what happened", True)]
    assert "Declaring is not a stage." in question.explanation_html


def test_true_or_false_with_feedback_for_each(imported):
    _, questions, quiz = imported
    shared = questions["shared-picture"]
    assert options(shared) == [("True", True), ("False", False)]
    assert "True: Yes: it is the fifth." in shared.explanation_html
    assert "False: It is one of them." in shared.explanation_html
    unnamed = next(q for q in quiz.questions if q.title.startswith("Commanders should wait"))
    assert options(unnamed) == [("True", False), ("False", True)]


def test_missing_word_becomes_a_sentence_with_a_blank(imported):
    _, questions, _ = imported
    question = questions["missing-word"]
    assert "The _____ letter of METHANE stands for exact location." in question.title_html
    assert options(question) == [("first", False), ("second", True), ("third", False)]


def test_text_formats_markdown_plain_and_html(imported):
    _, questions, quiz = imported
    assert "<em>fire</em>" in questions["markdown-text"].title_html
    plain = next(q for q in quiz.questions if "as typed" in q.title_html)
    assert "&lt;b&gt;as typed&lt;/b&gt;" in plain.title_html
    html = next(q for q in quiz.questions if q.title == "Question from line 35")
    assert "<b>M</b>: not declared" in html.stem_html
    assert options(html)[0] == ("It is an ETHANE message", True)


def test_escaped_characters_and_line_breaks(imported):
    _, _, quiz = imported
    escapes = next(q for q in quiz.questions if q.title_html.startswith("Which characters"))
    assert escapes.title_html == "Which characters can GIFT escape: ~ = # { and }?"
    assert options(escapes)[0] == ("All of them: tilde, equals, hash and braces", True)
    assert any(q.title_html == "A line break in a question?" for q in quiz.questions)


def test_categories_are_counted_and_can_be_chosen(imported):
    bank, _, _ = imported
    assert bank.categories == (("JESIP/Principles", 10),)
    assert len(bank.in_category("JESIP/Principles").questions) == 10
    assert len(bank.in_category("principles").questions) == 10
    assert len(bank.in_category("JESIP").questions) == 10
    assert bank.in_category("Not convertible").questions == ()


def test_adding_to_a_quiz_keeps_its_questions_and_gives_new_ids():
    page = new_quiz_page("Bank") + "\n## Which principle comes first? {#co-locate-first}\n\n" \
        "- [x] Co-locate\n- [ ] Communicate\n"
    result = import_into_page(page, BANK.read_text(), title="ignored")
    quiz, problems = quiz_of(result.text)
    assert problems == []
    ids = [question.id for question in quiz.questions]
    assert ids[0] == "co-locate-first" and "co-locate-first-2" in ids
    assert len(quiz.questions) == 11
    assert result.text.startswith(page)


def test_nothing_to_add_is_refused_with_a_reason():
    with pytest.raises(GiftRefused, match="all 2 were skipped"):
        import_into_page(None, "::A:: Sum?{#2}\n\n::B:: Say.{}\n", title="T")
    with pytest.raises(GiftRefused, match="in the category Nowhere"):
        import_into_page(None, BANK.read_text(), title="T", category="Nowhere")
    with pytest.raises(GiftRefused, match="not UTF-8"):
        read_bank("Qu\xe9stion{=a ~b}".encode("latin-1"))


@pytest.mark.parametrize("text, reason", [
    ("Unclosed {=a ~b", "its answers have no closing }"),
    ("::Half a name Q?{=a ~b}", "its name has no closing ::"),
    ("Q?{=a}", "short-answer question"),
    ("Q?{~a ~b}", "none of its answers is right"),
    ("Q?{~a}", "fewer than two answers"),
    ("Q?{=a ~}", "one of its answers is empty"),
    ("Q?{=a ~b} and {=c ~d}", "more than one set of answers"),
    ("{=a ~b}", "it has no question text"),
    ("Q?{nonsense =a ~b}", "its answers start with text that is not an answer"),
])
def test_malformed_questions_are_skipped_with_a_reason(text, reason):
    bank = parse_gift(f"// a comment\n\n{text}\n")
    assert bank.questions == ()
    [skipped] = bank.skipped
    assert skipped.line == 3
    assert reason in skipped.reason


def test_text_that_looks_like_markdown_is_shown_as_written():
    bank = parse_gift(r"Is *this* [a link](x) or # a heading \{\#id\}?{=Yes ~No}")
    quiz, problems = quiz_of(add_questions(new_quiz_page("T"), bank.questions, set()))
    assert problems == []
    assert quiz.questions[0].title_html == "Is *this* [a link](x) or # a heading {#id}?"


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def course_folder(tmp_path):
    folder = tmp_path / "imported"
    folder.mkdir()
    (folder / "course.md").write_bytes(COURSE_PAGE)
    (folder / "01-read.md").write_text("---\ntitle: Read\n---\nText.\n")
    return folder


def test_flask_courses_gift_import_writes_a_quiz_page_and_lists_the_skips(app, course_folder):
    runner = app.test_cli_runner()
    quiz = course_folder / "02-moodle-bank.quiz.md"
    result = runner.invoke(args=["courses", "gift-import", str(BANK), str(quiz),
                                 "--pass-mark", "70"])
    assert result.exit_code == 0, result.output
    assert f"Added 10 questions to {quiz} from {BANK}." in result.output
    assert "Categories: JESIP/Principles (10)" in result.output
    assert f"{BANK}:46: skipped (Numerical): a numerical question" in result.output
    assert f"{BANK}:72: skipped (Repeated answers)" in result.output
    assert "12 skipped: the quiz format cannot hold them." in result.output
    text = quiz.read_text()
    assert text.startswith('---\ntitle: "Moodle bank"\npass_mark: 70\n---\n')
    result = runner.invoke(args=["courses", "validate", str(course_folder)])
    assert result.exit_code == 0, result.output
    # Again: added after the first ten, with ids of their own.
    result = runner.invoke(args=["courses", "gift-import", str(BANK), str(quiz)])
    assert result.exit_code == 0, result.output
    quiz_item, problems = quiz_of(quiz.read_text())
    assert problems == [] and len(quiz_item.questions) == 20


def test_flask_courses_gift_import_refuses_what_it_cannot_do(app, course_folder, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "gift-import", str(BANK),
                                 str(course_folder / "02-bank.md")])
    assert result.exit_code == 1 and "is not a quiz page" in result.output
    result = runner.invoke(args=["courses", "gift-import", str(BANK),
                                 str(tmp_path / "02-bank.quiz.md")])
    assert result.exit_code == 1 and "is not a course folder" in result.output
    empty = tmp_path / "empty.gift"
    empty.write_text("::Essay:: Say something.{}\n")
    quiz = course_folder / "02-bank.quiz.md"
    result = runner.invoke(args=["courses", "gift-import", str(empty), str(quiz)])
    assert result.exit_code == 1
    assert f"{empty}:1: skipped (Essay)" in result.output
    assert "No question in the GIFT file can be added: all 1 were skipped." in result.output
    assert not quiz.exists()
