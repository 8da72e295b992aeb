"""What the item analysis tests (tests/test_analysis_*.py) share: a course of one quiz and one
scenario, in two versions of the quiz, published from text; the moment attempts and runs
are made at. Their `people` fixture is in tests/conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime

from jesip_learn.content import parse_course_files
from jesip_learn.courses import catalogue as courses

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
COURSE_MD = b"---\ntitle: Analysis test course\ncode: ANALYSIS\n---\n\nOverview.\n"

QUIZ = """---
title: Check your understanding
pass_mark: 50
---

## Which principle comes first on arrival? {#first}

- [x] Co-locate
- [ ] Communicate
- [ ] Co-ordinate

## Which are stages of the Joint Decision Model? {#stages}

- [x] Gather information
- [x] Assess risks
- [ ] Declare a major incident

## Put the first letters of METHANE in order {#order}

1. Major incident
2. Exact location
3. Type of incident
"""

# Version 2: the stages question is gone, a new one is added, and the answer key of the
# first question changes (Communicate is now marked right) while its options stay the same.
QUIZ_V2 = """---
title: Check your understanding again
pass_mark: 50
---

## Which principle comes first on arrival? {#first}

- [ ] Co-locate
- [x] Communicate
- [ ] Co-ordinate

## Put the first letters of METHANE in order {#order}

1. Major incident
2. Exact location
3. Type of incident

## Who declares a major incident? {#who}

- [x] Any of the emergency services
- [ ] Only the police
"""

SCENARIO = """---
title: Test walk
start: call
---

## The call {#call}

- [Ask where](#where){score=2}
- [Send anyone](#wrong-bank)

## Where exactly {#where}

- [Share it](#safe){score=2}
- [Wait](#late)

## The wrong bank {#wrong-bank}

- [Look again](#wrong-bank)
- [Call back](#where){score=1}

## Safe {#safe .end result=pass}

Done.

## Too late {#late .end result=fail}

Done.
"""


def publish(session, quiz=QUIZ, scenario=SCENARIO, extra: dict[str, str] | None = None):
    files = {"course.md": COURSE_MD, "01-check.quiz.md": quiz.encode(),
             "02-walk.scenario.md": scenario.encode()}
    files.update({name: text.encode() for name, text in (extra or {}).items()})
    result = parse_course_files(files, display_root="analysis")
    assert result.ok, [str(problem) for problem in result.problems]
    outcome, = courses.import_parsed(session, [("analysis", result)])
    return courses.find_version(session, outcome.code, outcome.version_number)

