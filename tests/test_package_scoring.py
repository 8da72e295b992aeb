"""The package's scoring (jesip_learn/courses/packaging/assets/scoring.js, run by Node.js) marks
exactly as jesip_learn/scoring.py does: the same answers go through both, from every
question, scenario and METHANE step of the shipped courses and the example course, and
the results must be equal, field by field."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from jesip_learn import scoring
from jesip_learn.content import METHANE_FIELDS, Question, Quiz, Scenario
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.packaging import player_data
from jesip_learn.courses.packaging.build import parse_for_package
from tests.scorm.playing import shipped_course, shipped_folders

SCORING_JS = (Path(__file__).resolve().parents[1] / "jesip_learn" / "courses" / "packaging"
              / "assets" / "scoring.js")
FIXTURE = Path(__file__).resolve().parent / "content" / "fixtures" / "valid-course"
RUNNER = """
const scoring = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const vocab = {stages: input.data.stages.map(s => s[0]),
               principles: input.data.principles.map(p => p[0])};
const out = input.cases.map(c => {
  if (c.kind === "question") return scoring.isCorrect(c.question, c.answer);
  if (c.kind === "quiz") return scoring.scoreQuiz(c.questions, c.answers, c.passMark);
  if (c.kind === "scenario") return scoring.scoreScenario(c.scenario, c.path, vocab);
  if (c.kind === "words") return Array.from(scoring.keyWords(c.text, input.data.methane)).sort();
  return scoring.compareMethane(c.model, c.written, input.data.methane).map(f => f.covered);
});
process.stdout.write(JSON.stringify(out));
"""


def run_in_node(data: dict, cases: list[dict]) -> list:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to run the package's scoring (apt-get install nodejs)")
    done = subprocess.run([node, "-e", RUNNER, str(SCORING_JS)],
                          input=json.dumps({"data": data, "cases": cases}),
                          capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def every_course():
    [(_, result)] = courses.parse_folders(FIXTURE)
    return [*(shipped_course(folder)[0] for folder in shipped_folders()),
            parse_for_package(result.sources)]


def answers_for(question: Question, rng: random.Random) -> list[list[str]]:
    """Right, wrong, empty, too many, repeated, unknown and shuffled answers."""
    ids = [option.id for option in question.options]
    right = (list(question.correct_order) if question.kind == "ordering"
             else sorted(question.correct_option_ids))
    found = [right, [], ids, ids[:1], ids[-1:], right + right[:1], ["o-unknown"], right[::-1],
             [*right, "o-unknown"]]
    for _ in range(6):
        found.append(rng.sample(ids, rng.randint(0, len(ids))))
    return found


def scenario_paths(scenario: Scenario, rng: random.Random) -> list[list[list]]:
    """Random walks through the steps, some stopped half-way, some with a choice that
    belongs to no step, and the empty path."""
    steps = {step.id: step for step in scenario.steps}
    paths: list[list[list]] = [[]]
    for walk in range(25):
        path, at = [], scenario.start
        for _ in range(len(scenario.steps) + 2):
            step = steps[at]
            if step.kind == "end" or not step.choices or (walk % 5 == 0 and rng.random() < .3):
                path.append([at, None])
                break
            choice = rng.choice(step.choices)
            path.append([at, choice.id if walk % 7 else "99"])
            at = choice.target
        paths.append(path)
    return paths


METHANE_WORDS = ("Access: grass verge", "crews, buses and casualties", "not declared yet",
                 "no casualties", "two appliances", "one ambulance",
                 "the Mill Lane bridge", "fires", "grass", "is", "none", "ZERO", "Seven",
                 "single crew", "hazards: gas", "", "   ")


def methane_texts(model: list[str], rng: random.Random) -> list[list[str]]:
    found = [list(model), [""] * 7, [line.upper() for line in model]]
    for _ in range(10):
        texts = []
        for line in model:
            words = line.split()
            picked = rng.sample(words, rng.randint(0, len(words))) if words else []
            texts.append(" ".join(picked + [rng.choice(METHANE_WORDS)]))
        found.append(texts)
    return found


def test_the_package_scores_every_answer_as_the_site_does():
    rng = random.Random(24)
    mismatches = []
    for course in every_course():
        data = player_data(course, package_format="scorm2004", version=1)
        cases, expected = [], []
        for item, item_data in zip((i for i in course.items if i.kind != "module"),
                                   (d for d in data["items"] if d["kind"] != "module"),
                                   strict=True):
            if isinstance(item, Quiz):
                by_id = {q["id"]: q for q in item_data["questions"]}
                answers_of_attempt: dict[str, list[str]] = {}
                for question in item.questions:
                    for answer in answers_for(question, rng):
                        cases.append({"kind": "question", "question": by_id[question.id],
                                      "answer": answer})
                        expected.append(scoring.is_correct(question, answer))
                    answers_of_attempt[question.id] = rng.choice(answers_for(question, rng))
                for _ in range(5):
                    drawn = rng.sample(list(item.questions), item.questions_drawn)
                    score = scoring.score_quiz(drawn, answers_of_attempt, item.pass_mark)
                    cases.append({"kind": "quiz", "questions": [by_id[q.id] for q in drawn],
                                  "answers": answers_of_attempt, "passMark": item.pass_mark})
                    expected.append({"correct": score.correct, "total": score.total,
                                     "percent": score.percent, "passed": score.passed})
            else:
                for path in scenario_paths(item, rng):
                    score = scoring.score_scenario(
                        item, [scoring.PathStep(step, choice) for step, choice in path])
                    cases.append({"kind": "scenario", "scenario": item_data, "path": path})
                    expected.append({
                        "points": score.points, "best": score.best, "result": score.result,
                        "stagesTouched": list(score.stages_touched),
                        "stagesMissed": list(score.stages_missed),
                        "principlesTouched": list(score.principles_touched),
                        "principlesMissed": list(score.principles_missed)})
                for step in item.steps:
                    if step.model_answer is None:
                        continue
                    model = [line.text for line in step.model_answer.lines]
                    for written in methane_texts(model, rng):
                        cases.append({"kind": "methane", "model": model, "written": written})
                        expected.append([field.covered for field in
                                         scoring.compare_methane(model, written)])
                        for text in written:
                            cases.append({"kind": "words", "text": text})
                            expected.append(sorted(scoring.key_words(text)))
        got = run_in_node(data, cases)
        for case, want, have in zip(cases, expected, got, strict=True):
            if want != have:
                mismatches.append(f"{course.code}: {json.dumps(case)[:300]}\n  python: {want}"
                                  f"\n  package: {have}")
        assert len(cases) > 50
    assert not mismatches, "\n".join(mismatches[:10])


def test_the_methane_rules_reach_the_package_from_scoring_py():
    course, _ = shipped_course("jesip-awareness")
    rules = player_data(course, package_format="cmi5", version=1)["methane"]
    assert rules["fields"] == [list(field) for field in METHANE_FIELDS]
    assert set(rules["filler"]) == scoring.FILLER_WORDS
    assert rules["numbers"] == scoring.NUMBER_WORDS
    assert rules["share"] == scoring.COVERED_SHARE
