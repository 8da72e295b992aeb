"""Each validation rule on its own: one small course, one mistake, one message."""

from __future__ import annotations

import os

import pytest

from jesip_learn.content import (
    PRINCIPLES,
    SERVICES,
    parse_course_files,
    parse_course_folder,
    validate_course_folder,
)
from jesip_learn.content.files import MAX_FILE_BYTES, MAX_PAGE_BYTES
from jesip_learn.content.serialise import item_from_data, item_to_data
from tests.content.helpers import COURSE_MD, page

MODULE = page("title: A module")
QUIZ_HEAD = "title: A quiz\npass_mark: 80"
GOOD_QUESTION = "\n## Which?\n\n- [x] Right\n- [ ] Wrong\n"
SCENARIO_HEAD = "title: A scenario\nstart: a"


def problems_of(files: dict[str, bytes]) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.message) for p in parse_course_files(files).problems]


def only_problem(files: dict[str, bytes]) -> tuple[str, int, str]:
    found = problems_of(files)
    assert len(found) == 1, found
    return found[0]


def with_module(**extra: bytes) -> dict[str, bytes]:
    return {"course.md": COURSE_MD, "01-a.md": MODULE, **extra}


def quiz(body: str, head: str = QUIZ_HEAD) -> dict[str, bytes]:
    return {"course.md": COURSE_MD, "01-q.quiz.md": page(head, body)}


def scenario(body: str, head: str = SCENARIO_HEAD) -> dict[str, bytes]:
    return {"course.md": COURSE_MD, "01-s.scenario.md": page(head, body)}


def course(front_matter: str) -> dict[str, bytes]:
    return {"course.md": page(front_matter), "01-a.md": MODULE}


CASES = {
    # course.md
    "missing title": (course("code: X"), ("course.md", 1, "missing title")),
    "empty title": (course("title:\ncode: X"), ("course.md", 2, "title is empty")),
    "title is a list": (course("title: [a, b]\ncode: X"), ("course.md", 2, "title must be text")),
    "code on two lines": (
        course("title: T\ncode: |\n  A\n  B"),
        ("course.md", 3, "code must be on one line"),
    ),
    "validity_months as text": (
        course("title: T\ncode: X\nvalidity_months: twelve"),
        ("course.md", 4, "validity_months must be a whole number of months"),
    ),
    "validity_months negative": (
        course("title: T\ncode: X\nvalidity_months: -3"),
        ("course.md", 4, "validity_months must be"),
    ),
    "required_for not a mapping": (
        course("title: T\ncode: X\nrequired_for: everyone"),
        ("course.md", 4, "required_for must hold 'services:' and 'roles:' lists"),
    ),
    "required_for without roles": (
        course("title: T\ncode: X\nrequired_for:\n  services: [fire]"),
        ("course.md", 4, "required_for has no roles"),
    ),
    "required_for unknown role": (
        course(
            "title: T\ncode: X\nrequired_for:\n  services: [fire]\n"
            "  roles:\n    - tactical\n    - boss"
        ),
        ("course.md", 8, "unknown role 'boss'"),
    ),
    "required_for unknown key": (
        course("title: T\ncode: X\nrequired_for:\n  services: all\n  roles: all\n  grades: [a]"),
        ("course.md", 7, "unknown key 'grades' in required_for"),
    ),
    "key set twice": (
        course("title: T\ncode: X\ntitle: U"),
        ("course.md", 4, "'title' is set more than once"),
    ),
    "front matter is a list": (
        course("- title: T"),
        ("course.md", 1, "front matter must be 'key: value' lines, not a list"),
    ),
    "front matter never closed": (
        {"course.md": b"---\ntitle: T\ncode: X\n", "01-a.md": MODULE},
        ("course.md", 1, "never closed"),
    ),
    "tab in YAML": (course("title: T\ncode: X\n\tminutes: 3"), ("course.md", 4, "malformed YAML")),
    "python tag in YAML": (
        course("title: !!python/object/apply:os.system ['true']\ncode: X"),
        ("course.md", 2, "malformed YAML"),
    ),
    "no items": ({"course.md": COURSE_MD}, ("course.md", 1, "the course has no pages")),
    "nothing at all": ({}, ("course.md", 1, "the course folder is empty")),
    "no course.md": ({"01-a.md": MODULE}, ("course.md", 1, "missing course.md")),
    # files and names
    "page in a sub-folder": (
        with_module(**{"extra/02-b.md": MODULE}),
        ("extra/02-b.md", 1, "pages must be at the top"),
    ),
    "slug with a space": (
        with_module(**{"02-my page.md": MODULE}),
        ("02-my page.md", 1, "can't be a page name"),
    ),
    "same slug, different kinds": (
        with_module(**{"02-a.quiz.md": page(QUIZ_HEAD, GOOD_QUESTION)}),
        ("02-a.quiz.md", 1, "another page has the slug 'a'"),
    ),
    "slugs differing in case": (
        with_module(**{"02-A.md": MODULE}),
        ("02-A.md", 1, "another page has the slug 'A'"),
    ),
    "path escaping the folder": (
        with_module(**{"../02-b.md": MODULE}),
        ("../02-b.md", 1, "outside the course"),
    ),
    "absolute path": (
        with_module(**{"/etc/passwd": b"x"}),
        ("/etc/passwd", 1, "outside the course"),
    ),
    "same file twice": (with_module(**{"./01-a.md": MODULE}), ("01-a.md", 1, "appears twice")),
    "executable file": (
        with_module(**{"images/run.exe": b"MZ"}),
        ("images/run.exe", 1, "not allowed"),
    ),
    "file with no ending": (
        with_module(**{"images/README": b"x"}),
        ("images/README", 1, "not allowed"),
    ),
    "page too big": (
        with_module(**{"02-big.md": b"x" * (MAX_PAGE_BYTES + 1)}),
        ("02-big.md", 1, "the file is too big"),
    ),
    "image too big": (
        with_module(**{"images/big.png": bytes(MAX_FILE_BYTES + 1)}),
        ("images/big.png", 1, "the file is too big"),
    ),
    "not UTF-8 on line 4": (
        with_module(**{"02-b.md": b"---\ntitle: B\n---\nNa\xefve\n"}),
        ("02-b.md", 4, "not UTF-8"),
    ),
    "module minutes as text": (
        with_module(**{"02-b.md": page("title: B\nminutes: ten")}),
        ("02-b.md", 3, "minutes must be a whole number"),
    ),
    "objectives as a mapping": (
        with_module(**{"02-b.md": page("title: B\nobjectives:\n  a: b")}),
        ("02-b.md", 3, "objectives must be a list"),
    ),
    # images and links
    "image in raw HTML without alt": (
        with_module(
            **{"02-b.md": page("title: B", '\n<img src="images/x.png">\n'), "images/x.png": b"png"}
        ),
        ("02-b.md", 5, "image has no alternative text"),
    ),
    "image from a file: URL": (
        with_module(**{"02-b.md": page("title: B", "\n![A disk](file:///etc/passwd)\n")}),
        ("02-b.md", 5, "not web addresses or data: URLs"),
    ),
    "image as a data: URL": (
        with_module(
            **{"02-b.md": page("title: B", "\n\n![Dot](data:image/png;base64,iVBORw0KGgo=)\n")}
        ),
        ("02-b.md", 6, "not web addresses or data: URLs"),
    ),
    "image with an absolute path": (
        with_module(**{"02-b.md": page("title: B", "\n![Logo](/static/logo.png)\n")}),
        ("02-b.md", 5, "must be relative"),
    ),
    "image of a PDF": (
        with_module(
            **{"02-b.md": page("title: B", "\n![Guide](guide.pdf)\n"), "guide.pdf": b"%PDF"}
        ),
        ("02-b.md", 5, "images must be png, jpg, gif or webp"),
    ),
    "link to a missing file": (
        with_module(**{"02-b.md": page("title: B", "\nSee [the guide](files/guide.pdf).\n")}),
        ("02-b.md", 5, "linked file not found: files/guide.pdf"),
    ),
    "link with an absolute path": (
        with_module(**{"02-b.md": page("title: B", "\nSee [home](/dashboard).\n")}),
        ("02-b.md", 5, "relative path inside the course folder"),
    ),
    "link through a reference definition": (
        with_module(
            **{"02-b.md": page("title: B", "\nSee [this][x].\n\n[x]: vbscript:msgbox(1)\n")}
        ),
        ("02-b.md", 7, "not vbscript:"),
    ),
    "nesting too deep": (
        with_module(**{"02-b.md": page("title: B", "\nFine.\n\n" + "> " * 30 + "deep\n")}),
        ("02-b.md", 7, "nested too deeply"),
    ),
    # quizzes
    "quiz without pass_mark": (
        quiz(GOOD_QUESTION, "title: Q"),
        ("01-q.quiz.md", 1, "missing pass_mark"),
    ),
    "pass_mark as words": (
        quiz(GOOD_QUESTION, "title: Q\npass_mark: eighty"),
        ("01-q.quiz.md", 3, "pass_mark must be a number from 0 to 100, not 'eighty'"),
    ),
    "pass_mark below zero": (
        quiz(GOOD_QUESTION, "title: Q\npass_mark: -1"),
        ("01-q.quiz.md", 3, "pass_mark must be a number from 0 to 100"),
    ),
    "pass_mark true": (
        quiz(GOOD_QUESTION, "title: Q\npass_mark: yes"),
        ("01-q.quiz.md", 3, "pass_mark must be a number"),
    ),
    "quiz missing title": (
        quiz(GOOD_QUESTION, "pass_mark: 50"),
        ("01-q.quiz.md", 1, "missing title"),
    ),
    "quiz with no questions": (
        quiz("\nJust text.\n"),
        ("01-q.quiz.md", 1, "the quiz has no questions"),
    ),
    "ordering with one item": (
        quiz("\n## Order these\n\n1. Only one\n"),
        ("01-q.quiz.md", 6, "an ordering question needs at least two items"),
    ),
    "answer list without boxes": (
        quiz("\n## Which?\n\n- Right\n- Wrong\n"),
        ("01-q.quiz.md", 6, "question has no answers"),
    ),
    "empty answer": (
        quiz("\n## Which?\n\n- [x] Right\n- [ ]\n- [ ] Wrong\n"),
        ("01-q.quiz.md", 9, "this answer is empty"),
    ),
    "question ids clash": (
        quiz("\n## One {#q}\n\n- [x] a\n- [ ] b\n\n## Two {#q}\n\n- [x] a\n- [ ] b\n"),
        ("01-q.quiz.md", 11, "two questions have the id 'q' (the other is on line 6)"),
    ),
    "question heading with a class": (
        quiz("\n## Which? {.big}\n\n- [x] a\n- [ ] b\n"),
        ("01-q.quiz.md", 6, "a question heading only takes an id"),
    ),
    "question heading with a key other than tags": (
        quiz("\n## Which? {#q level=hard}\n\n- [x] a\n- [ ] b\n"),
        ("01-q.quiz.md", 6, "a question heading only takes an id and tags"),
    ),
    "question tag that is not a word": (
        quiz("\n## Which? {tags=Application!}\n\n- [x] a\n- [ ] b\n"),
        ("01-q.quiz.md", 6, "the tag 'Application!' is not a tag"),
    ),
    "questions_per_attempt as text": (
        quiz(GOOD_QUESTION, QUIZ_HEAD + "\nquestions_per_attempt: all"),
        ("01-q.quiz.md", 4, "questions_per_attempt must be a whole number"),
    ),
    # scenarios
    "scenario without start": (
        scenario("\n## A {#a .end result=pass}\n", "title: S"),
        ("01-s.scenario.md", 1, "missing start"),
    ),
    "scenario without steps": (
        scenario("\nNo steps.\n"),
        ("01-s.scenario.md", 1, "the scenario has no steps"),
    ),
    "heading id taken from the title": (
        scenario(
            "\n## Begin {#a}\n\n- [Go](#everyone-safe)\n\n## Everyone safe {.end result=pass}\n"
        ),
        None,
    ),
    "methane step without a model answer": (
        scenario(
            "\n## A {#a .methane}\n\nWrite it.\n\n- [Send](#b)\n\n## B {#b .end result=pass}\n"
        ),
        ("01-s.scenario.md", 6, "a .methane step needs its model answer"),
    ),
    "methane line empty": (
        scenario(
            "\n## A {#a .methane}\n\n- M: no\n- E: here\n- T: flood\n- H: water\n- A:\n"
            "- N: none\n- E: fire\n- [Send](#b)\n\n## B {#b .end result=pass}\n"
        ),
        ("01-s.scenario.md", 12, "the model answer's A: line is empty"),
    ),
    "both end and methane": (
        scenario("\n## A {#a .end .methane result=pass}\n"),
        ("01-s.scenario.md", 6, "both .end and .methane"),
    ),
    "result on a normal step": (
        scenario("\n## A {#a result=pass}\n\n- [Go](#b)\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 6, "result= only goes on an ending"),
    ),
    "result=maybe": (
        scenario(
            "\n## A {#a}\n\n- [Go](#b)\n- [Or](#c)\n\n## B {#b .end result=pass}\n\n"
            "## C {#c .end result=maybe}\n"
        ),
        ("01-s.scenario.md", 13, "an ending needs result=pass or result=fail, not result=maybe"),
    ),
    "unknown step class": (
        scenario("\n## A {#a .end .final result=pass}\n"),
        ("01-s.scenario.md", 6, "unknown class .final"),
    ),
    "unknown choice attribute": (
        scenario("\n## A {#a}\n\n- [Go](#b){weight=2}\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 8, "unknown attribute weight="),
    ),
    "bare word attribute": (
        scenario("\n## A {#a}\n\n- [Go](#b){score}\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 8, "'score' is not an attribute"),
    ),
    "choice with an id": (
        scenario("\n## A {#a}\n\n- [Go](#b){#x}\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 8, "a choice can't have an #id"),
    ),
    "score given twice": (
        scenario("\n## A {#a}\n\n- [Go](#b){score=1 score=2}\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 8, "score= is given twice"),
    ),
    "score with decimals": (
        scenario("\n## A {#a}\n\n- [Go](#b){score=1.5}\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 8, "score must be a whole number, not '1.5'"),
    ),
    "text other than feedback under a choice": (
        scenario("\n## A {#a}\n\n- [Go](#b)\n\n    More text.\n\n## B {#b .end result=pass}\n"),
        ("01-s.scenario.md", 10, "only an indented block quote (the feedback)"),
    ),
    "a loop with no way out": (
        scenario(
            "\n## A {#a}\n\n- [Left](#b)\n- [Right](#win)\n\n## B {#b}\n\n- [Back](#c)\n\n"
            "## C {#c}\n\n- [Again](#b)\n\n## Win {#win .end result=pass}\n"
        ),
        None,  # checked below: both steps of the loop are reported
    ),
}


@pytest.mark.parametrize("name", [name for name, (_, expected) in CASES.items() if expected])
def test_one_mistake_one_message(name):
    files, (file, line, words) = CASES[name]
    found_file, found_line, message = only_problem(files)
    assert (found_file, found_line) == (file, line), message
    assert words in message


def test_heading_without_id_gets_its_anchor_as_id():
    result = parse_course_files(CASES["heading id taken from the title"][0])
    assert result.ok, result.problems
    assert [step.id for step in result.course.items[0].steps] == ["a", "everyone-safe"]


def test_a_loop_with_no_way_out_is_reported_at_each_trapped_step():
    found = problems_of(CASES["a loop with no way out"][0])
    assert [(line, message.split(":")[0]) for _, line, message in found] == [
        (11, "from step 'b' no path leads to an ending"),
        (15, "from step 'c' no path leads to an ending"),
    ]


def test_accepted_variations():
    files = {
        "course.md": b"\xef\xbb\xbf"
        + page("title: T\ncode: X\nrequired_for:\n  services: all\n  roles: [Tactical, strategic]"),
        "01-a.md": MODULE,
        "01-b.md": MODULE,  # the same number is fine: ordered by file name
        "02-q.quiz.md": page("title: Q\npass_mark: 80%\nquestions_per_attempt: 10", GOOD_QUESTION),
        "03-s.scenario.md": page(
            SCENARIO_HEAD, "\n## A {#a}\n\n- [Go](#b){score=-1}\n\n## B {#b .end result=pass}\n"
        ),
        ".DS_Store": b"\0\1",
        "images/.hidden.png": b"x",
        "__MACOSX/._01-a.md": b"\0",
        "Thumbs.db": b"\0",
    }
    result = parse_course_files(files)
    assert result.ok, result.problems
    course = result.course
    assert course.required_for.services == SERVICES
    assert course.required_for.roles == ("tactical", "strategic")
    assert course.validity_months is None
    assert [(item.slug, item.position) for item in course.items] == [
        ("a", 1),
        ("b", 2),
        ("q", 3),
        ("s", 4),
    ]
    assert course.items[2].pass_mark == 80 and course.items[2].questions_drawn == 1
    assert course.items[3].steps[0].choices[0].score == -1
    assert set(result.sources) == {
        "course.md",
        "01-a.md",
        "01-b.md",
        "02-q.quiz.md",
        "03-s.scenario.md",
    }


def test_question_tags_are_read_from_the_heading():
    body = (
        "\n## Which message is right? {#right tags=application}\n\n- [x] a\n- [ ] b\n"
        '\n## What does M stand for? {tags="recall, methane recall"}\n\n- [x] a\n- [ ] b\n'
        "\n## Untagged\n\n- [x] a\n- [ ] b\n"
    )
    result = parse_course_files(quiz(body))
    assert result.ok, result.problems
    questions = result.course.items[0].questions
    assert [(q.id, q.tags) for q in questions] == [
        ("right", ("application",)),
        ("what-does-m-stand-for", ("recall", "methane")),
        ("untagged", ()),
    ]
    assert "tags" not in questions[0].title_html and questions[0].title == "Which message is right?"


def test_a_question_stored_before_tags_existed_still_loads():
    result = parse_course_files(quiz(GOOD_QUESTION))
    data = item_to_data(result.course.items[0])
    for question in data["questions"]:
        del question["tags"]
    assert item_from_data("quiz", data).questions[0].tags == ()


def test_problems_are_capped_per_file():
    body = "\n".join(f"![](images/{n}.png)" for n in range(200))
    found = problems_of(with_module(**{"02-b.md": page("title: B", body)}))
    assert len(found) == 50
    assert found[-1][2] == "too many problems in this file; fix these first"


def test_folder_problems(tmp_path):
    assert [str(p) for p in validate_course_folder(tmp_path / "nowhere")] == [
        f"nowhere/course.md:1: no course folder at {tmp_path / 'nowhere'}"
    ]
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "course.md").write_bytes(COURSE_MD)
    (folder / "01-a.md").write_bytes(MODULE)
    (tmp_path / "secret.md").write_bytes(MODULE)
    os.symlink(tmp_path / "secret.md", folder / "02-b.md")
    os.symlink(tmp_path, folder / "images")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_bytes(b"x")
    assert [str(p) for p in validate_course_folder(folder, display_root="")] == [
        "02-b.md:1: symbolic links are not allowed in a course",
        "images:1: symbolic links are not allowed in a course",
    ]


def test_vocabularies_are_the_formats():
    assert SERVICES == ("police", "fire", "ambulance", "other")
    assert PRINCIPLES == ("co-locate", "communicate", "co-ordinate", "risk", "awareness")


def test_validate_course_folder_matches_parse(tmp_path):
    (tmp_path / "course.md").write_bytes(COURSE_MD)
    assert validate_course_folder(tmp_path) == parse_course_folder(tmp_path).problems


# Knock-on problems say what caused them; "not found" says what there is -------------------


def test_an_ending_cut_off_by_a_broken_link_says_which_link():
    found = problems_of(scenario(
        "\n## A {#a}\n\n- [On time](#win)\n- [Too late](#lat)\n\n"
        "## Win {#win .end result=pass}\n\n## Late {#late .end result=fail}\n"))
    assert [(line, message) for _, line, message in found] == [
        (9, "link to a step that does not exist: #lat (did you mean #late? The steps: #a, "
            "#late and #win)"),
        (13, "ending 'late' can't be reached from the start step 'a' because the link on "
             "line 9 is broken (it goes to #lat, not #late)"),
    ]


def test_a_step_behind_an_unreachable_step_says_so():
    found = problems_of(scenario(
        "\n## A {#a}\n\n- [Win](#win)\n\n## B {#b}\n\n- [C](#c)\n\n"
        "## C {#c}\n\n- [Win](#win)\n\n## Win {#win .end result=pass}\n"))
    assert [message for _, _, message in found] == [
        "step 'b' can't be reached from the start step 'a': no choice links to it",
        "step 'c' can't be reached from the start step 'a' because only step 'b' links to "
        "it, and it can't be reached either",
    ]


def test_a_loop_caused_by_a_broken_link_says_so():
    found = problems_of(scenario(
        "\n## A {#a}\n\n- [B](#b)\n\n## B {#b}\n\n- [Back](#a)\n- [Out](#wn)\n\n"
        "## Win {#win .end result=pass}\n"))
    messages = [message for _, _, message in found]
    assert ("from step 'a' no path leads to an ending: the learner would go round forever, "
            "because the link on line 13 is broken") in messages


def test_a_start_that_names_no_step_lists_the_steps():
    _, _, message = only_problem(scenario(
        "\n## A {#a}\n\n- [Win](#win)\n\n## Win {#win .end result=pass}\n",
        head="title: A scenario\nstart: wn"))
    assert message == ("start names no step: there is no step with the id 'wn' (did you mean "
                       "#win? The steps: #a and #win)")


def test_a_missing_image_or_file_lists_what_the_course_has():
    png = b"\x89PNG\r\n\x1a\n"
    files = with_module(**{"images/command-post.png": png, "images/cordon.png": png,
                           "files/guide.pdf": b"%PDF-1.4"})
    files["02-b.md"] = page("title: B", "\n![A cordon](images/cordn.png)\n\n"
                                        "[The guide](files/notes.pdf)\n")
    assert [message for _, _, message in problems_of(files)] == [
        "image not found: images/cordn.png (did you mean images/cordon.png? The course’s "
        "images: images/command-post.png and images/cordon.png)",
        "linked file not found: files/notes.pdf (the course’s files: files/guide.pdf, "
        "images/command-post.png and images/cordon.png)",
    ]
    files = {"course.md": COURSE_MD, "01-a.md": page("title: A", "\n![A map](images/map.png)\n")}
    assert [message for _, _, message in problems_of(files)] == [
        "image not found: images/map.png (the course has no images yet)"]
