"""The shipped JESIP courses meet the curriculum's quality bar (courses/)."""

import re
from pathlib import Path

import pytest

from jesip_learn.content import JDM_STAGES, PRINCIPLES, parse_course_folder

COURSES = Path(__file__).resolve().parents[1] / "courses"
EXPECTED = {
    "JESIP-AWARE": {"validity": 12, "roles": {"operational", "tactical", "strategic",
                                              "control-room", "staff"}},
    "JESIP-CMD": {"validity": 36, "roles": {"operational", "tactical", "strategic"}},
    "JESIP-CR": {"validity": 36, "roles": {"control-room"}},
}
WORDS_PER_MINUTE = 200


def shipped():
    results = {}
    for folder in sorted(p for p in COURSES.iterdir() if (p / "course.md").is_file()):
        result = parse_course_folder(folder)
        assert result.ok, "\n".join(str(p) for p in result.problems)
        results[result.course.code] = result.course
    return results


SHIPPED = shipped()


def items_of(course, kind):
    return [item for item in course.items if item.kind == kind]


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_three_courses_are_shipped_with_their_requirements():
    assert set(SHIPPED) == set(EXPECTED) | {"JESIP-LIVE"}  # live exercises: tested below
    for code, expected in EXPECTED.items():
        course = SHIPPED[code]
        assert course.validity_months == expected["validity"]
        assert set(course.required_for.roles) == expected["roles"]
        assert set(course.required_for.services) == {"police", "fire", "ambulance", "other"}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_reading_modules(code):
    modules = items_of(SHIPPED[code], "module")
    assert 4 <= len(modules) <= 8
    for module in modules:
        assert len(module.objectives) >= 2, module.slug
        words = len(text_of(module.html).split())
        assert words / WORDS_PER_MINUTE <= 15, f"{module.slug}: {words} words"
        assert module.minutes and module.minutes <= 15, module.slug
        last_heading = re.findall(r"<h2[^>]*>(.*?)</h2>", module.html)[-1]
        assert "Sources" in last_heading, f"{module.slug} does not end with its sources"
        sources = module.html.rsplit("Sources", 1)[1]
        assert re.search(r'<a href="https://', sources), f"{module.slug}: no source links"


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_quiz_bank(code):
    quiz, = items_of(SHIPPED[code], "quiz")
    assert len(quiz.questions) >= 20
    assert quiz.questions_drawn == 10 and quiz.pass_mark == 80
    kinds = {question.kind for question in quiz.questions}
    assert kinds == {"single", "multiple", "ordering"}
    for question in quiz.questions:
        assert text_of(question.explanation_html).strip(), f"{question.title}: no explanation"


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_scenarios(code):
    scenarios = items_of(SHIPPED[code], "scenario")
    assert len(scenarios) >= 2
    stages, principles = set(), set()
    for scenario in scenarios:
        steps = scenario.steps
        assert any(step.kind == "methane" for step in steps), scenario.slug
        results = {step.result for step in steps if step.kind == "end"}
        assert results == {"pass", "fail"}, scenario.slug
        for step in steps:
            stages.add(step.jdm)
            principles.add(step.principle)
            for choice in step.choices:
                # A lone "Continue" (after a METHANE message) is not a decision.
                if len(step.choices) > 1:
                    assert text_of(choice.feedback_html).strip(), \
                        f"{scenario.slug}/{step.id}: a choice without feedback"
                    assert choice.jdm, f"{scenario.slug}/{step.id}: a decision without its stage"
                stages.add(choice.jdm)
                principles.add(choice.principle)
    assert set(JDM_STAGES) <= stages, f"JDM stages missing: {set(JDM_STAGES) - stages}"
    assert set(PRINCIPLES) <= principles, f"principles missing: {set(PRINCIPLES) - principles}"


def test_flooding_and_a_marauding_attack_are_both_practised():
    titles = " ".join(scenario.title.lower() + " " + text_of(scenario.steps[0].html).lower()
                      for course in SHIPPED.values()
                      for scenario in items_of(course, "scenario"))
    assert "flood" in titles or "water" in titles
    scenario_text = " ".join(text_of(step.html).lower() for course in SHIPPED.values()
                             for scenario in items_of(course, "scenario")
                             for step in scenario.steps)
    assert "marauding" in scenario_text or "operation plato" in scenario_text


def test_nothing_unconfirmed_is_taught():
    """jesip-facts.md marks these UNCONFIRMED: they must not appear as fact."""
    everything = " ".join(
        text_of(getattr(item, "html", "")) + " ".join(
            text_of(q.explanation_html) for q in getattr(item, "questions", ()))
        for course in SHIPPED.values() for item in course.items).lower()
    for phrase in ("edition 3.1", "aace"):
        assert phrase not in everything, phrase


# --- the live exercise scripts (JESIP-LIVE) ------------------------------------------------

LIVE_SCRIPTS = ("attack-at-kingsford-quay", "rising-water-at-wenlow")


def live_script(slug):
    return SHIPPED["JESIP-LIVE"].item(slug)


def test_the_live_exercises_are_scripts_only_and_required_of_nobody():
    course = SHIPPED["JESIP-LIVE"]
    assert course.required_for.services == () and course.required_for.roles == ()
    assert [item.slug for item in course.items] == list(LIVE_SCRIPTS)
    assert all(item.kind == "exercise" for item in course.items)
    assert "facilitator" in text_of(course.overview_html)


@pytest.mark.parametrize("slug", LIVE_SCRIPTS)
def test_each_live_script_has_facts_a_message_and_decisions(slug):
    script = live_script(slug)
    events = {event.kind: [e for e in script.events if e.kind == event.kind]
              for event in script.events}
    assert len(events["end"]) == 1 and script.end_at == script.minutes * 60
    methane = events["methane"][0]
    assert methane.from_role and methane.to and methane.within
    assert all(text for text in (line.text for line in methane.model_answer.lines))
    facts = [fact for event in script.events for fact in event.facts]
    assert len(facts) >= 6
    assert all(fact.needs and fact.within for fact in facts)
    for decision in events["decision"]:
        assert len(decision.roles) >= 2 and decision.jdm and decision.principle
        scores = [option.score for option in decision.options]
        assert max(scores) == 2 and 0 in scores, decision.id
        for option in decision.options:
            assert text_of(option.feedback_html).strip(), f"{decision.id}: no feedback"
    assert any(event.manual for event in script.events)


def test_the_attack_script_teaches_the_arena_and_london_bridge_lessons():
    script = live_script("attack-at-kingsford-quay")
    controls = {"police-control", "fire-control", "ambulance-control"}
    assert {role.id for role in script.roles} == controls
    assert set(script.members("inter-control")) == controls
    facts = {fact.id: fact for event in script.events for fact in event.facts}
    plato = facts["plato-declared"]
    assert set(plato.needs) == {"fire-control", "ambulance-control"} and plato.within <= 180
    assert script.event("plato").to == ("police-control",)
    assert "casualty-locations" in facts and "crews-withdrawn" in facts
    methane = script.event("first-methane")
    assert (methane.from_role, methane.to) == ("police-control", ("inter-control",))
    talk_group = script.event("talk-group")
    assert talk_group.at <= 120 and talk_group.options[0].score == 2
    rvp = script.event("first-rvp")
    best = text_of(rvp.options[0].feedback_html)
    assert rvp.options[0].score == 2
    assert "upwind" in best and "uphill" in best and "police" in best
    assert "Forward Command Post" in best and "not where commanders meet" in best
    zones = script.event("zones")
    assert zones.options[0].score == 2 and "together" in text_of(zones.options[0].html)
    police_set = next(o for o in zones.options if "Police control sets" in o.html)
    assert police_set.score == 0 and "out of date" in text_of(police_set.feedback_html)
    assert script.event("second-location").manual


def test_the_flood_script_keeps_untrained_responders_out_of_the_water():
    script = live_script("rising-water-at-wenlow")
    levels = {role.id: role.level for role in script.roles}
    assert sorted(levels.values()) == ["control-room"] * 3 + ["operational"] * 3
    assert set(script.members("scene-commanders")) == {
        "fire-commander", "police-commander", "ambulance-commander"}
    ethane, declared = [e for e in script.events if e.kind == "methane"]
    assert "ETHANE" in ethane.model_answer.lines[0].text
    assert "No major incident" in ethane.model_answer.lines[0].text
    assert declared.model_answer.lines[0].text.startswith("Yes")
    assert declared.at >= script.event("major-incident").at
    water = script.event("water-entry")
    assert set(water.roles) == set(script.members("scene-commanders"))
    boat = next(option for option in water.options if "paramedic crosses" in option.html)
    assert boat.score == 0 and "never crosses" in text_of(boat.feedback_html)
    assert "only by rescuers" in text_of(water.options[0].feedback_html)
    facts = {fact.id: fact for event in script.events for fact in event.facts}
    assert "hot zone" in facts["water-hot-zone"].text
    assert "open" in text_of(script.event("first-rvp").options[0].html)
    assert "IIMARCH" in text_of(script.event("briefing").html)
