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
    assert set(SHIPPED) == set(EXPECTED)
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
