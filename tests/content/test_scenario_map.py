"""The scenario map: the graph's problems, the layered layout an SVG is drawn from, and the
outline in words, on the shipped scenarios and on drafts that do not validate yet."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jesip_learn.content import Scenario, parse_course_files, parse_course_folder
from jesip_learn.content.map_labels import LABEL_TYPE, TEXT_HEIGHT
from jesip_learn.content.scenario_map import (
    HEADER_HEIGHT,
    MARGIN,
    NODE_HEIGHT,
    NODE_WIDTH,
    SHOWN_SCALE,
    ScenarioMap,
    plain_text,
    scenario_graph,
    scenario_map,
)
from tests.content.helpers import FIXTURES, course_with, page

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(path for path in (REPO / "courses").iterdir() if (path / "course.md").is_file())
CONTENT = REPO / "jesip_learn" / "content"
# The map and the modules it is built from.
MODULES = [CONTENT / "scenario_map.py", CONTENT / "scenario_graph.py",
           *sorted(CONTENT.glob("map_*.py"))]


def shipped_scenarios() -> list[Scenario]:
    found = []
    for folder in SHIPPED:
        result = parse_course_folder(folder)
        assert result.ok, "\n".join(str(problem) for problem in result.problems)
        found += [item for item in result.course.items if item.kind == "scenario"]
    return found


SCENARIOS = shipped_scenarios()


def draft(body: str, start: str = "a", title: str = "Draft") -> Scenario:
    """A scenario as the parser builds it, whatever problems it has."""
    front = f"title: {title}\nstart: {start}" if start else f"title: {title}"
    result = parse_course_files(course_with(**{"01-walk.scenario.md": page(front, body)}))
    scenario = result.draft.items[0]
    assert scenario.kind == "scenario"
    return scenario


def node(picture: ScenarioMap, step_id: str):
    found = picture.node_for_step(step_id)
    assert found is not None, step_id
    return found


def path_points(path: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def arrow_points(arrow: str) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in point.split(",")) for point in arrow.split()]


def overlap(a, b) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height \
        and b.y < a.y + a.height


# --- the shipped scenarios -------------------------------------------------------------------


def test_the_shipped_courses_have_scenarios():
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.slug)
def test_every_shipped_step_is_reachable_and_can_end(scenario):
    picture = scenario_map(scenario)
    assert picture.unreachable == ()
    assert picture.dead_ends == ()
    assert picture.no_way_out == ()
    assert picture.missing == ()
    assert picture.duplicates == ()
    assert picture.problems == () and picture.ok
    assert "Every step can be reached from the start" in picture.summary
    assert {n.kind for n in picture.nodes} <= {"start", "step", "pass-ending", "fail-ending"}
    assert "pass-ending" in {n.kind for n in picture.nodes}
    assert not any(column.unreachable for column in picture.columns)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.slug)
def test_a_shipped_map_has_a_box_per_step_and_an_arrow_per_choice(scenario):
    picture = scenario_map(scenario)
    assert sorted(n.step_id for n in picture.nodes) == sorted(s.id for s in scenario.steps)
    assert len(picture.edges) == sum(len(step.choices) for step in scenario.steps)
    assert len({n.key for n in picture.nodes}) == len(picture.nodes)
    graph = scenario_graph(scenario)
    for each in picture.nodes:
        assert each.column == graph.depth[each.step_id] == each.depth
        assert each.x >= 0 and each.x + each.width <= picture.width
        assert each.y >= 0 and each.y + each.height <= picture.height
    start = node(picture, scenario.start)
    assert start.kind == "start" and start.column == 0
    boxes = picture.nodes
    assert not any(overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.slug)
def test_shipped_arrows_run_from_their_step_to_the_step_they_lead_to(scenario):
    picture = scenario_map(scenario)
    boxes = {n.key: n for n in picture.nodes}
    for edge in picture.edges:
        source, target = boxes[edge.source], boxes[edge.target]
        points = path_points(edge.path)
        (x0, y0), (x1, y1) = points[0], points[-1]
        if "self" in edge.flags:
            assert (x0, y1) == (source.x + source.width, source.y)
        else:
            assert x0 == source.x + source.width and source.y < y0 < source.y + source.height
            assert x1 == target.x and target.y < y1 < target.y + target.height
        tip = arrow_points(edge.arrow)[0]
        assert tip == pytest.approx((x1, y1))
        for line in edge.label_lines:
            assert 0 <= line.x <= picture.width and TEXT_HEIGHT <= line.y <= picture.height
        assert all(0 <= x <= picture.width and 0 <= y <= picture.height for x, y in points)


def test_a_shipped_outline_reads_step_by_step_from_the_start():
    scenario = next(s for s in SCENARIOS if s.slug == "rising-water-at-millbrook")
    picture = scenario_map(scenario)
    assert len(picture.outline) == len(scenario.steps)
    first = picture.outline[0]
    assert first.step_id == "arrival"
    assert first.text.startswith(
        "Step '21:40, Mill Road' (start): choice 'Stop well back from the water.")
    assert "(2 points) → 'What you can see'; choice 'Wade out to the car." in first.text
    assert first.text.endswith("→ 'Knee-deep and rising'.")
    endings = [entry.text for entry in picture.outline if entry.noun == "Ending"]
    assert "Ending 'Everyone safe' (pass)." in endings
    methane = next(entry for entry in picture.outline if entry.step_id == "ethane")
    assert methane.text == (
        "Step 'Your ETHANE message' (METHANE message): choice 'Continue' → '21:55, help arrives'.")


def test_the_map_is_the_same_every_time():
    for scenario in SCENARIOS:
        assert scenario_map(scenario) == scenario_map(scenario)


# --- drafts with problems --------------------------------------------------------------------


def test_an_unreachable_step_goes_in_a_column_of_its_own_at_the_end():
    scenario = draft("""
## Arrival {#a}

- [Go on](#b)

## Safe {#b .end result=pass}

## Forgotten {#c}

- [Go on](#b)
""")
    picture = scenario_map(scenario)
    assert picture.unreachable == ("c",)
    assert picture.dead_ends == () and picture.no_way_out == ()
    forgotten = node(picture, "c")
    assert forgotten.kind == "unreachable" and forgotten.depth is None
    assert forgotten.column == 2 and picture.columns[2].unreachable
    assert picture.columns[2].heading.text == "Not reachable from the start"
    assert forgotten.x > node(picture, "b").x + NODE_WIDTH
    assert "Step 'Forgotten' can't be reached from the start." in picture.problems
    back = next(edge for edge in picture.edges if edge.step_id == "c")
    assert "back" in back.flags and "unreachable" in back.flags
    assert picture.outline[-1].text == (
        "Step 'Forgotten' (can't be reached from the start): choice 'Go on' → 'Safe'.")


def test_dead_ends_are_steps_with_no_choices_or_only_links_to_missing_steps():
    scenario = draft("""
## Arrival {#a}

- [Stop here](#quiet)
- [Try the door](#door)
- [Finish](#end)

## A quiet step {#quiet}

Nothing to choose.

## A locked door {#door}

- [Go through](#nowhere)

## The end {#end .end result=pass}
""")
    picture = scenario_map(scenario)
    assert picture.dead_ends == ("quiet", "door")
    assert picture.no_way_out == ()  # a dead end is reported as one, not twice
    assert node(picture, "quiet").kind == "dead-end"
    assert node(picture, "door").kind == "dead-end"
    assert "no-way-out" not in node(picture, "door").flags
    assert "Step 'A quiet step' is a dead end: it is not an ending and no choice on it leads " \
           "to a step." in picture.problems
    entry = next(e for e in picture.outline if e.step_id == "quiet")
    assert entry.text == "Step 'A quiet step' (dead end)."


def test_a_cycle_with_no_way_out_is_found_and_the_ending_beside_it_is_not():
    scenario = draft("""
## Arrival {#a}

- [Go round](#b)
- [Finish](#end)

## Round {#b}

- [Again](#c)

## And round {#c}

- [Back](#b)
- [Stay](#c)

## The end {#end .end result=pass}
""")
    picture = scenario_map(scenario)
    assert picture.no_way_out == ("b", "c")
    assert picture.dead_ends == () and picture.unreachable == ()
    assert node(picture, "a").flags == ("start",)  # the start can still reach the end
    assert "no-way-out" in node(picture, "b").flags
    assert "From step 'Round' no ending can be reached: the choices only go round in a " \
           "circle." in picture.problems
    stay = next(edge for edge in picture.edges if edge.step_id == "c" and edge.choice_id == "2")
    assert "self" in stay.flags and stay.source == stay.target
    back = next(edge for edge in picture.edges if edge.step_id == "c" and edge.choice_id == "1")
    assert "back" in back.flags
    # A backward arrow runs along a lane under every box.
    lowest = max(n.y + n.height for n in picture.nodes)
    assert max(y for _x, y in path_points(back.path)) > lowest
    assert picture.height > max(y for _x, y in path_points(back.path))


def test_a_link_to_a_missing_step_is_drawn_to_a_missing_step_box():
    scenario = draft("""
## Arrival {#a}

- [Declare a major incident](#methane){score=2}
- [Wait and see](#wait)

## Waiting {#wait .end result=fail}
""")
    picture = scenario_map(scenario)
    assert picture.missing == ("methane",)
    missing = node(picture, "methane")
    assert missing.kind == "missing" and missing.column == 1 and missing.line is None
    assert missing.title == "Missing step 'methane'"
    assert [line.text for line in missing.lines] == ["#methane"]
    edge = next(e for e in picture.edges if e.target == missing.key)
    assert "to-missing" in edge.flags and edge.score == 2
    assert picture.dead_ends == ()  # the other choice leads to a step
    assert ("Choice 'Declare a major incident' on step 'Arrival' links to a step that does "
            "not exist: #methane.") in picture.problems
    assert "No ending has result=pass, so no learner could complete the scenario." \
        in picture.problems
    assert picture.outline[0].text == (
        "Step 'Arrival' (start): choice 'Declare a major incident' (2 points) → missing step "
        "'methane'; choice 'Wait and see' → 'Waiting'.")
    entry = next(e for e in picture.outline if e.node_key == missing.key)
    assert entry.text == "Missing step 'methane' (no step has this id): linked from 'Arrival'."


def test_a_start_that_names_no_step_leaves_every_step_unreachable():
    scenario = draft("## Only {#only .end result=pass}\n", start="nowhere")
    picture = scenario_map(scenario)
    start = node(picture, "nowhere")
    assert start.kind == "missing" and "start" in start.flags and start.column == 0
    assert picture.unreachable == ("only",)
    assert node(picture, "only").column == 1
    assert "The start names a step that does not exist: 'nowhere'." in picture.problems


def test_a_scenario_with_no_start_and_no_steps_still_maps():
    picture = scenario_map(draft("Just an introduction.\n", start=""))
    assert picture.nodes == () and picture.edges == () and picture.columns == ()
    assert picture.problems == ("The scenario has no steps: each '## Heading {#id}' is one.",)
    assert picture.width > 0 and picture.height > 0
    no_start = scenario_map(draft("## One {#one .end result=pass}\n", start=""))
    assert no_start.unreachable == ("one",)
    assert no_start.problems[0].startswith("The scenario has no start")


def test_a_duplicate_id_is_drawn_but_every_link_goes_to_the_first():
    scenario = draft("""
## Arrival {#a}

- [On](#b)

## First b {#b .end result=pass}

## Second b {#b}

- [Back](#a)
""")
    picture = scenario_map(scenario)
    assert picture.duplicates == ("b",)
    first = picture.node_for_step("b")
    assert first.title == "First b" and first.kind == "pass-ending"
    second = next(n for n in picture.nodes if n.title == "Second b")
    assert second.kind == "unreachable" and "duplicate" in second.flags
    assert "never-offered" in next(e for e in picture.edges if e.source == second.key).flags
    assert picture.unreachable == ()  # by id, b is reached: the duplicate is its own problem
    assert any("has the id 'b' of an earlier step" in p for p in picture.problems)


def test_choices_on_an_ending_are_drawn_but_never_lead_anywhere():
    scenario = draft("""
## Arrival {#a}

- [End it](#end)

## The end {#end .end result=pass}

- [Carry on](#after)

## After {#after .end result=fail}
""")
    picture = scenario_map(scenario)
    assert picture.unreachable == ("after",)  # a run stops at an ending
    edge = next(e for e in picture.edges if e.step_id == "end")
    assert "never-offered" in edge.flags
    entry = next(e for e in picture.outline if e.step_id == "end")
    assert entry.text.startswith("Ending 'The end' (pass, an ending: its choices are never "
                                 "offered): choice 'Carry on' → 'After'")


def test_the_format_page_example_as_a_draft():
    """content-format.md's scenario links to two steps it leaves out: the map shows them."""
    result = parse_course_folder(FIXTURES / "format-examples")
    scenario = next(item for item in result.draft.items if item.kind == "scenario")
    picture = scenario_map(scenario)
    assert picture.missing == ("vague-dispatch", "shared-awareness")
    assert picture.unreachable == ("methane-message", "rescue")
    assert picture.dead_ends == ()
    assert [n.kind for n in picture.nodes if n.column == picture.columns[-1].index] == [
        "unreachable", "unreachable"]
    assert {node(picture, "vague-dispatch").column, node(picture, "shared-awareness").column} \
        == {1, 2}


# --- the layout -------------------------------------------------------------------------------


def test_columns_follow_the_shortest_distance_from_the_start():
    scenario = draft("""
## A {#a}

- [Long way](#b)
- [Short cut](#d)

## B {#b}

- [On](#c)

## C {#c}

- [On](#d)

## D {#d .end result=pass}
""")
    picture = scenario_map(scenario)
    assert [node(picture, s).column for s in "abcd"] == [0, 1, 2, 1]
    assert [c.heading.text for c in picture.columns] == [
        "Start", "1 choice from the start", "2 choices from the start"]
    forward = next(e for e in picture.edges if e.step_id == "c")
    assert "back" in forward.flags  # column 2 to column 1


def test_rows_follow_the_average_row_of_the_steps_that_lead_there():
    """X's choices name R (also reached from Y) before P (reached only from X): a walk from
    the start meets R first, but P sits above R, next to its only parent."""
    scenario = draft("""
## Start {#s}

- [To X](#x)
- [To Y](#y)

## X {#x}

- [To R](#r)
- [To P](#p)

## Y {#y}

- [To R](#r)
- [To Q](#q)

## P {#p .end result=pass}

## Q {#q .end result=fail}

## R {#r .end result=fail}
""", start="s")
    picture = scenario_map(scenario)
    assert [node(picture, s).row for s in "xy"] == [0, 1]
    assert [node(picture, s).row for s in "prq"] == [0, 1, 2]
    assert node(picture, "p").y < node(picture, "r").y < node(picture, "q").y


def test_parallel_choices_get_separate_arrows_and_labels():
    scenario = draft("""
## A {#a}

- [Send a full message](#b){score=2}
- [Send a vague message](#b)

## B {#b .end result=pass}
""")
    picture = scenario_map(scenario)
    first, second = picture.edges
    assert first.path != second.path
    assert (first.label_x, first.label_y) != (second.label_x, second.label_y)
    assert first.label == "Send a full message" and second.label == "Send a vague message"


def test_long_titles_are_wrapped_and_cut_short_and_labels_wrapped_whole():
    long_title = "A very long step title that goes on and on well past three lines of the box"
    scenario = draft(f"""
## {long_title} {{#a}}

- [A choice whose text is much longer than the space between two columns](#b)

## B {{#b .end result=pass}}
""")
    picture = scenario_map(scenario)
    box = node(picture, "a")
    assert box.title == long_title
    assert 1 < len(box.lines) <= 3 and box.lines[-1].text.endswith("…")
    assert all(len(line.text) <= 22 for line in box.lines)
    assert all(box.y < line.y < box.y + NODE_HEIGHT for line in box.lines)
    # The only arrow out of its box has room above it: its label shows whole, over lines
    # that fit between the columns, the last just above the arrow.
    edge = picture.edges[0]
    assert edge.label == edge.label_full
    assert edge.label_full.startswith("A choice whose text is much longer")
    assert len(edge.label_lines) > 1 and all(len(line.text) <= 20 for line in edge.label_lines)
    assert [line.x for line in edge.label_lines] == [edge.label_x] * len(edge.label_lines)
    assert [line.y for line in edge.label_lines] == sorted(line.y for line in edge.label_lines)
    assert edge.label_y < path_points(edge.path)[0][1]


def test_labels_wrap_into_the_room_between_arrows_and_are_cut_short_only_there():
    long = "Tell every partner agency in the strategic coordinating group at once"
    scenario = draft(f"""
## A {{#a}}

- [{long}](#b)
- [Wait]({"#c"})
- [{long.replace("Tell", "Ask")}](#d)

## B {{#b .end result=pass}}

## C {{#c .end result=fail}}

## D {{#d .end}}
""")
    picture = scenario_map(scenario)
    box = node(picture, "a")
    top, short, crowded = sorted(picture.edges, key=lambda edge: edge.label_y)
    assert top.label == long and len(top.label_lines) >= 4  # rises over its box
    assert short.label == "Wait"
    assert crowded.label != crowded.label_full and crowded.label.endswith("…")
    assert crowded.label_full == long.replace("Tell", "Ask")
    # No label reaches up over the arrow above it, or into the column headings.
    starts = [path_points(edge.path)[0][1] for edge in (top, short, crowded)]
    assert top.label_lines[0].y - TEXT_HEIGHT > MARGIN + HEADER_HEIGHT / 2
    for above, edge in ((starts[0], short), (starts[1], crowded)):
        assert edge.label_lines[0].y - TEXT_HEIGHT > above
    assert all(len(line.text) <= 20 for edge in picture.edges for line in edge.label_lines)
    assert box.y < starts[0] < starts[1] < starts[2] < box.y + box.height


def test_a_label_stays_under_the_label_of_its_boxs_loop():
    scenario = draft("""
## A {#a}

- [Stay and wait](#a)
- [Go on to the next step, telling every partner agency on the way what you saw](#b)

## B {#b .end result=pass}
""")
    loop, onward = sorted(scenario_map(scenario).edges, key=lambda edge: "self" in edge.flags,
                          reverse=True)
    assert "self" in loop.flags and loop.label == "Stay and wait"
    assert len(onward.label_lines) > 1
    assert onward.label_lines[0].y - TEXT_HEIGHT > loop.label_y


def test_node_kinds_flags_and_classes_for_styling():
    scenario = draft("""
## Start {#a}

- [Message](#m)

## Message {#m .methane}

- M: no
- E: here
- T: flood
- H: water
- A: north
- N: one
- E: fire

- [Continue](#ok)

## Fine {#ok .end result=pass}

## Never {#no .end}
""")
    picture = scenario_map(scenario)
    assert node(picture, "a").classes == "map-node map-node--start"
    assert node(picture, "m").kind == "step" and "methane" in node(picture, "m").flags
    assert node(picture, "ok").kind == "pass-ending"
    never = node(picture, "no")
    assert never.kind == "unreachable" and never.kind_label == "Unreachable step"
    assert never.problems == ("can't be reached from the start",)
    entry = next(e for e in picture.outline if e.step_id == "no")
    assert entry.text == ("Ending 'Never' (no result: add result=pass or result=fail, can't "
                          "be reached from the start).")
    assert picture.view_box == f"0 0 {int(picture.width)} {int(picture.height)}"


def test_a_map_is_shown_large_enough_that_its_smallest_words_are_12_px():
    picture = scenario_map(SCENARIOS[0])
    assert float(picture.shown_width) == pytest.approx(picture.width * SHOWN_SCALE, abs=0.05)
    assert float(picture.shown_height) == pytest.approx(picture.height * SHOWN_SCALE, abs=0.05)
    # The scale assumes the labels' type is the map's smallest, as the site's styles set it.
    styles = (REPO / "static" / "css" / "app.css").read_text()
    sizes = [float(size) for selector, rule in re.findall(r"([^{}]*)\{([^}]*)\}", styles)
             if ".map-" in selector for size in re.findall(r"font-size:\s*([\d.]+)px", rule)]
    assert sizes and min(sizes) == LABEL_TYPE
    assert round(LABEL_TYPE * SHOWN_SCALE, 6) == 12  # so the smallest words are 12 px


def test_markup_in_titles_and_labels_becomes_plain_text():
    scenario = draft("""
## The *first* call & more {#a}

- [Ask for the **exact** location](#b)

## B {#b .end result=pass}
""")
    picture = scenario_map(scenario)
    assert node(picture, "a").title == "The first call & more"
    assert picture.edges[0].label_full == "Ask for the exact location"
    assert plain_text("<p>A &amp; B <em>now</em></p>\n<p>then</p>") == "A & B now then"


# --- purity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_the_map_imports_only_the_standard_library_and_the_content_package(module):
    tree = ast.parse(module.read_text())
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom):
            names = [statement.module]
        else:
            continue
        for name in names:
            if name.startswith("jesip_learn.content."):
                continue
            assert name.split(".")[0] in sys.stdlib_module_names | {"__future__"}, name


def test_importing_the_map_loads_no_web_framework_and_no_database():
    probe = ("import json, sys\nimport jesip_learn.content.scenario_map\n"
             "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))")
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                               text=True, check=True)
    loaded = set(json.loads(completed.stdout))
    assert "jesip_learn" in loaded
    assert not {"flask", "jinja2", "werkzeug", "sqlalchemy"} & loaded
