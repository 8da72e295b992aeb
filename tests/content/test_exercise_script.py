"""Live exercise scripts (`.exercise.md`): the example of content-format.md imports exactly
as written, every rule of the format is reported at its line, and a parsed script survives
the trip through stored JSON unchanged.

fixtures/exercise-example/ is a course holding only the page's example script, byte for
byte; fixtures/planted-exercise-mistakes/ holds scripts with one or more mistakes a
trainer could make on each line listed below.
"""

from __future__ import annotations

import json
import re
import time  # process_time: CPU seconds of this process, whatever else the machine runs

import pytest

from jesip_learn.content import (
    METHANE_FIELDS,
    ExerciseScript,
    parse_course_files,
    parse_course_folder,
    write_course_folder,
)
from jesip_learn.content.exercise import clock, read_clock
from jesip_learn.content.serialise import item_from_data, item_to_data
from tests.content.helpers import FIXTURES, all_html, course_with, page, read_folder
from tests.content.test_content_examples import FORMAT_PAGE
from tests.content.test_content_security import PAYLOADS, assert_safe

EXAMPLE = FIXTURES / "exercise-example"
PLANTED = FIXTURES / "planted-exercise-mistakes"
SCRIPT = "01-central-station.exercise.md"

ROLES_FRONT_MATTER = """
title: Test exercise
roles:
  - id: police-control
    title: Police control
    service: police
    level: control-room
  - id: fire-control
    title: Fire control
    service: fire
    level: control-room
talk_groups:
  - id: inter-control
    title: Inter-control
    roles: [police-control, fire-control]
"""


def script_with(body: str, front_matter: str = ROLES_FRONT_MATTER):
    """A course holding one exercise script with `body` after the given front matter."""
    return parse_course_files(course_with(**{"01-drill.exercise.md": page(front_matter, body)}))


def messages(result) -> list[tuple[int, str]]:
    return [(problem.line, problem.message) for problem in result.problems]


@pytest.fixture(scope="module")
def example():
    return parse_course_folder(EXAMPLE)


def test_fixture_is_the_page_example_byte_for_byte():
    if not FORMAT_PAGE.exists():
        pytest.skip("shared/content-format.md is not beside this checkout")
    blocks = re.findall(r"^```md\n(.*?)^```\n", FORMAT_PAGE.read_text(), re.S | re.M)
    assert (EXAMPLE / SCRIPT).read_text() == blocks[0]


def test_the_example_imports_as_written_in_a_course_of_only_exercise_scripts(example):
    assert example.problems == ()
    assert example.course is not None
    script, = example.course.items
    assert isinstance(script, ExerciseScript)
    assert (script.kind, script.slug, script.position, script.source) == (
        "exercise", "central-station", 1, SCRIPT)
    assert (script.title, script.minutes) == ("Shots fired at Central Station", 40)


def test_example_roles_and_talk_groups(example):
    script = example.course.items[0]
    assert [(r.id, r.title, r.service, r.level, r.line) for r in script.roles] == [
        ("police-control", "Police control room supervisor", "police", "control-room", 5),
        ("fire-control", "Fire control room supervisor", "fire", "control-room", 9),
        ("ambulance-control", "Ambulance control room supervisor", "ambulance",
         "control-room", 13),
    ]
    group, = script.talk_groups
    assert (group.id, group.title, group.roles, group.line) == (
        "inter-control", "Inter-control talk group",
        ("police-control", "fire-control", "ambulance-control"), 18)
    assert script.members("inter-control") == group.roles
    assert script.members("fire-control") == ("fire-control",)
    assert script.members("nobody") == ()
    assert script.briefing_html == ("<p>Briefing that every participant reads before the "
                                    "start: the setting, not the secrets.</p>")


def test_example_events_times_and_targets(example):
    script = example.course.items[0]
    assert [(e.id, e.kind, e.at, e.to, e.line) for e in script.events] == [
        ("first-call", "normal", 0, ("police-control",), 25),
        ("smoke-call", "normal", 2, ("fire-control",), 31),
        ("plato", "normal", None, ("police-control",), 35),
        ("first-methane", "methane", 0, ("inter-control",), 41),
        ("first-rvp", "decision", 8, (), 51),
        ("end", "end", 2400, (), 60),
    ]
    assert script.event("plato").manual and not script.event("first-call").manual
    assert script.end_at == 2400
    assert script.event("first-call").html == (
        "<p>A caller on the main concourse reports several shots and people running.</p>")


def test_example_facts(example):
    script = example.course.items[0]
    facts = [(event.id, fact) for event in script.events for fact in event.facts]
    assert [(event_id, f.id, f.text, f.html, f.needs, f.within, f.principle, f.line)
            for event_id, f in facts] == [
        ("first-call", "gunfire", "Gunfire reported on the main concourse",
         "Gunfire reported on the main concourse", ("fire-control", "ambulance-control"), 180,
         "communicate", 29),
        ("plato", "plato-declared", "Operation Plato declared", "Operation Plato declared",
         ("fire-control", "ambulance-control"), 120, "communicate", 39),
    ]
    assert "Gunfire reported" not in script.event("first-call").html  # facts travel apart


def test_example_methane_expectation_and_model_answer(example):
    event = example.course.items[0].event("first-methane")
    assert (event.from_role, event.to, event.at, event.within) == (
        "police-control", ("inter-control",), 0, 300)
    assert event.html == ""  # the model answer is never part of what participants see
    assert event.model_answer.line == 43
    assert [(line.letter, line.label) for line in event.model_answer.lines] == list(
        METHANE_FIELDS)
    assert [line.text for line in event.model_answer.lines] == [
        "major incident declared",
        "Central Station, main concourse",
        "marauding attack with firearms",
        "attackers may still be active",
        "approach from King Street only",
        "several casualties reported, number unknown",
        "armed police en route; fire and ambulance at the rendezvous point",
    ]


def test_example_joint_decision(example):
    event = example.course.items[0].event("first-rvp")
    assert event.roles == ("police-control", "fire-control", "ambulance-control")
    assert (event.jdm, event.principle) == ("options", "co-locate")
    assert event.html == "<p>Crews are minutes away. Agree one rendezvous point.</p>"
    assert [(o.id, o.html, o.score, o.feedback_html, o.line) for o in event.options] == [
        ("1", "Bus depot on King Street, upwind and outside the cordon", 2,
         "<p>Safe, easy to find, and where all three services can be marshalled.</p>", 55),
        ("2", "Station forecourt", 0,
         "<p>Inside the area where attackers may still be active.</p>", 57),
    ]


def test_stored_json_gives_back_the_same_script(example):
    script = example.course.items[0]
    data = json.loads(json.dumps(item_to_data(script)))
    assert item_from_data("exercise", data) == script
    assert set(data) == {"slug", "position", "title", "minutes", "roles", "talk_groups",
                         "briefing_html", "events", "source"}
    assert set(data["events"][3]) == {
        "id", "title", "title_html", "html", "kind", "at", "to", "facts", "from_role",
        "within", "model_answer", "roles", "jdm", "principle", "options", "line"}


def test_export_then_import_gives_the_same_script(tmp_path, example):
    write_course_folder(example.sources, tmp_path / "exported")
    again = parse_course_folder(tmp_path / "exported")
    assert again.ok and again.content_hash == example.content_hash
    assert again.course == example.course
    assert read_folder(tmp_path / "exported") == dict(example.sources)


# Planted mistakes: (file, line, words the message must contain), in the order reported.
ROLES, EVENTS, EMPTY, TIMES, DECISIONS = (
    "01-roles.exercise.md", "02-events.exercise.md", "03-empty.exercise.md",
    "04-times.exercise.md", "05-decisions.exercise.md")
EXPECTED = [
    (ROLES, 3, "minutes must be a whole number of minutes, at least 1, not 'forty'"),
    (ROLES, 11, "unknown service 'fire-and-rescue': use police, fire, ambulance or other"),
    (ROLES, 16, "unknown level 'gold': use control-room, operational, tactical or strategic"),
    (ROLES, 17, "the role id 'police-control' is already used (on line 5)"),
    (ROLES, 21, "'coastguard ops' can't be the id of a role"),
    (ROLES, 25, "this role has no title"),
    (ROLES, 28, "unknown key 'colour' in a role: use id, title, service and level"),
    (ROLES, 29, "each role needs id, title, service and level"),
    (ROLES, 33, "unknown role 'ambulance' in talk group 'inter-control': the roles are "
                "police-control, fire-control, ambulance-control, local-authority"),
    (ROLES, 33, "talk group 'inter-control' names 'fire-control' twice"),
    (ROLES, 34, "the talk group id 'fire-control' is already used (on line 9)"),
    (ROLES, 36, "a talk group needs at least two roles"),
    (ROLES, 37, "this talk group has no roles"),
    (EVENTS, 22, "this event has no at="),
    (EVENTS, 24, "at=5m is not a time"),
    (EVENTS, 24, "unknown role or talk group 'police' in to=: the roles are police-control, "
                 "fire-control, ambulance-control; the talk group is inter-control"),
    (EVENTS, 26, "within= on a heading only goes on a .methane event"),
    (EVENTS, 26, "this event has no to="),
    (EVENTS, 28, "from= only goes on a .methane event"),
    (EVENTS, 28, "roles= only goes on a .decision event"),
    (EVENTS, 30, "unknown class .briefing"),
    (EVENTS, 30, "unknown attribute colour="),
    (EVENTS, 30, "unknown jdm=guessing"),
    (EVENTS, 30, "to= has an empty entry"),
    (EVENTS, 30, "to= names 'fire-control' twice"),
    (EVENTS, 32, "'inter-control' is a talk group, but needs= lists roles: the roles are "
                 "police-control, fire-control, ambulance-control"),
    (EVENTS, 32, "unknown role 'police' in needs=: the roles are police-control, "
                 "fire-control, ambulance-control"),
    (EVENTS, 33, "this fact has no text"),
    (EVENTS, 34, "within= says how soon the roles in needs= should know the fact"),
    (EVENTS, 35, "within=soon is not a time"),
    (EVENTS, 36, "unknown principle=teamwork"),
    (EVENTS, 36, "within=00:00 leaves no time at all"),
    (EVENTS, 38, "nothing goes under a fact"),
    (EVENTS, 41, "a list item ending in {...} must be a key fact"),
    (EVENTS, 43, "a .methane event needs from="),
    (EVENTS, 43, "a .methane event needs within="),
    (EVENTS, 45, "the model answer must have the seven lines M, E, T, H, A, N, E in that "
                 "order (found M, E, T)"),
    (EVENTS, 49, "a .methane event needs its model answer"),
    (EVENTS, 49, "from= names one role"),
    (EVENTS, 53, "unknown role 'police' in from=: the roles are police-control, fire-control, "
                 "ambulance-control"),
    (EMPTY, 1, "the exercise has no roles"),
    (EMPTY, 1, "the exercise has no events"),
    (TIMES, 17, "the fact's within=02:00 from 19:00 runs past the end of the exercise (20:00, "
                "its .end event on line 33)"),
    (TIMES, 19, "within=05:00 from 18:00 runs past the end of the exercise"),
    (TIMES, 29, "this event at 25:00 comes after the end of the exercise"),
    (TIMES, 31, "this event at 90:00 comes after the end of the exercise"),
    (TIMES, 35, "the exercise has more than one .end event (the first is on line 33)"),
    (DECISIONS, 22, "a joint decision needs at least two roles in roles="),
    (DECISIONS, 22, "a .decision event needs at least two options"),
    (DECISIONS, 27, "a .decision event needs roles="),
    (DECISIONS, 29, "score must be a whole number, not 'two'"),
    (DECISIONS, 31, "this option has no score="),
    (DECISIONS, 34, "under an option only an indented block quote (the feedback) may follow"),
    (DECISIONS, 36, "'inter-control' is a talk group, but roles= lists roles"),
    (DECISIONS, 36, "unknown role 'medic' in roles="),
    (DECISIONS, 39, "an option can't have an #id"),
    (DECISIONS, 43, "options go in a .decision event"),
    (DECISIONS, 44, "options go in a .decision event"),
    (DECISIONS, 46, "an event is one of .methane, .decision or .end, not .methane and .decision"),
    (DECISIONS, 46, "a .methane event needs from="),
    (DECISIONS, 46, "a .methane event needs within="),
    (DECISIONS, 46, "a .methane event needs its model answer"),
    (DECISIONS, 52, "two events have the id 'first-call' (the other is on line 48)"),
    (DECISIONS, 54, "two facts have the id 'shared' (the other is on line 50)"),
    (DECISIONS, 56, "'first/call' can't be the id of an event"),
    (DECISIONS, 58, "an .end event takes only at= (it reaches everyone), not to="),
    (DECISIONS, 58, "an .end event needs a clock time"),
    (DECISIONS, 60, "an .end event carries no facts"),
]


def test_each_planted_mistake_is_reported_at_its_line():
    result = parse_course_folder(PLANTED)
    found = [(problem.file, problem.line, problem.message) for problem in result.problems]
    assert [(file, line) for file, line, _ in found] == [(file, line) for file, line, _ in EXPECTED]
    for (file, line, message), (_, _, words) in zip(found, EXPECTED, strict=True):
        assert words in message, f"{file}:{line}: {message!r} lacks {words!r}"
    assert result.course is None
    assert str(result.problems[0]).startswith("planted-exercise-mistakes/01-roles.exercise.md:3: ")


@pytest.mark.parametrize(("value", "seconds"), [
    ("00:00", 0), ("05:30", 330), ("5:00", 300), ("90:00", 5400), ("120:05", 7205)])
def test_clock_times_are_minutes_and_seconds(value, seconds):
    problems = []
    assert read_clock(value, "at", 1, _Collect(problems)) == seconds and problems == []
    if value.startswith(("0", "9", "1")):
        assert clock(seconds) == value


@pytest.mark.parametrize("value", ["05:60", "5", "1:5", "-01:00", "01:00:00", "soon", ""])
def test_clock_times_that_do_not_parse(value):
    problems = []
    assert read_clock(value, "at", 7, _Collect(problems)) is None
    assert problems and problems[0][0] == 7 and "is not a time" in problems[0][1]


class _Collect:
    def __init__(self, found: list) -> None:
        self.found = found

    def add(self, line: int, message: str) -> None:
        self.found.append((line, message))


def test_without_an_end_event_minutes_set_the_end():
    result = script_with("\n## Late {#late at=31:00 to=police-control}\n",
                         ROLES_FRONT_MATTER + "minutes: 30\n")
    assert messages(result) == [
        (19, "this event at 31:00 comes after the end of the exercise (30:00, minutes: 30)")]


def test_without_an_end_or_minutes_nothing_runs_past_the_end():
    result = script_with("\n## Late {#late at=900:00 to=police-control}\n")
    assert result.ok and result.course.items[0].end_at is None


def test_a_fact_written_over_two_lines_is_still_a_fact():
    result = script_with(
        "\n## Call {#call at=00:00 to=police-control}\n\n"
        "- Casualties are in the courtyard\n  behind the market {.fact #courtyard "
        "needs=fire-control within=02:00}\n- An ordinary point\n")
    assert result.ok, messages(result)
    event = result.course.items[0].events[0]
    fact, = event.facts
    assert (fact.id, fact.text, fact.line) == (
        "courtyard", "Casualties are in the courtyard\nbehind the market", 20)
    assert event.html == "<ul>\n<li>An ordinary point</li>\n</ul>"


def test_ids_may_be_left_out_and_come_from_the_text():
    result = script_with("\n## A call comes in {at=00:00 to=inter-control}\n\n"
                         "- Smoke seen {.fact needs=fire-control}\n")
    assert result.ok, messages(result)
    event = result.course.items[0].events[0]
    assert (event.id, event.facts[0].id) == ("a-call-comes-in", "smoke-seen")


def test_a_decision_may_also_reach_roles_by_to():
    result = script_with(
        "\n## Choose {#choose .decision at=00:00 roles=police-control,fire-control "
        "to=inter-control}\n\n- A {.option score=1}\n- B {.option score=0}\n")
    assert result.ok, messages(result)
    assert result.course.items[0].events[0].to == ("inter-control",)


def test_an_exercise_script_beside_other_items():
    files = course_with(**{
        "01-intro.md": page("title: Intro"),
        "02-drill.exercise.md": (EXAMPLE / SCRIPT).read_bytes(),
    })
    result = parse_course_files(files)
    assert result.ok, messages(result)
    assert [item.kind for item in result.course.items] == ["module", "exercise"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_anywhere_in_a_script(payload):
    body = (
        f"\n{payload}\n\n## {payload} {{#a at=00:00 to=police-control}}\n\n{payload}\n\n"
        f"- {payload} {{.fact #f needs=fire-control}}\n\n"
        f"## M {{#m .methane at=00:00 from=police-control to=fire-control within=01:00}}\n\n"
        f"- M: {payload}\n- E: e\n- T: t\n- H: h\n- A: a\n- N: n\n- E: e\n\n"
        f"## D {{#d .decision at=00:00 roles=police-control,fire-control}}\n\n"
        f"- {payload} {{.option score=1}}\n    > {payload}\n- B {{.option score=0}}\n"
    )
    result = script_with(body)
    pieces = all_html(result.draft)
    assert len(pieces) >= 10  # fewer when the payload itself holds {...}
    for html in pieces:
        assert_safe(html)


def test_the_payload_places_really_render():
    body = (
        "\n**marker**\n\n## **marker** {#a at=00:00 to=police-control}\n\n"
        "- **marker** {.fact #f needs=fire-control}\n\n"
        "## D {#d .decision at=00:00 roles=police-control,fire-control}\n\n"
        "- **marker** {.option score=1}\n    > **marker**\n- B {.option score=0}\n"
    )
    script = script_with(body).course.items[0]
    assert script.briefing_html == "<p><strong>marker</strong></p>"
    assert script.events[0].title_html == "<strong>marker</strong>"
    assert script.events[0].facts[0].html == "<strong>marker</strong>"
    option = script.events[1].options[0]
    assert (option.html, option.feedback_html) == (
        "<strong>marker</strong>", "<p><strong>marker</strong></p>")


def test_a_long_line_in_a_list_item_parses_in_linear_time():
    padding = " " * 150_000
    started = time.process_time()
    result = script_with(f"\n## Call {{#call at=00:00 to=police-control}}\n\n- a\n{padding}b\n"
                         f"- {'{' * 50_000}\n")
    assert time.process_time() - started < 5
    assert result.draft.items[0].events[0].facts == ()


def test_an_event_or_fact_whose_text_gives_no_id_needs_one():
    result = script_with("\n## ??? {at=00:00 to=police-control}\n\n"
                         "- !!! {.fact needs=fire-control}\n")
    assert messages(result) == [
        (18, "this event needs an #id: its title gives none, e.g. {#first-call ...}"),
        (20, "this fact needs an #id: its text gives none, e.g. {.fact #gunfire ...}"),
    ]
