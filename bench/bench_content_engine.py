"""Parse + validate + render a large generated course, against Python-Markdown alone
converting the same text (the ratio is the engine's own overhead); then importing it into
a database (storing the HTML of that parse), and re-importing it unchanged, against the
same parse."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import markdown  # noqa: E402

from jesip_learn.content import parse_course_files  # noqa: E402
from jesip_learn.content.render import (  # noqa: E402
    MARKDOWN_EXTENSION_CONFIGS,
    MARKDOWN_EXTENSIONS,
)
from jesip_learn.core.db import Database  # noqa: E402
from jesip_learn.courses import catalogue as courses  # noqa: E402
from tests.support.database import migrate  # noqa: E402

ROUNDS = 3
PARAGRAPH = ("Commanders should meet at a single, agreed location as soon as practicable. "
             "They share what they know about hazards, agree priorities and record the "
             "decisions they make together, with the reasons for them. ")


def module(number: int) -> str:
    body = []
    while sum(len(part) for part in body) < 5000:
        section = len(body)
        body.append(f"## Section {section}\n\n{PARAGRAPH * 3}\n\n- one point\n- another point\n")
    return (f"---\ntitle: Module {number}\nminutes: 10\nobjectives:\n  - Explain the point\n"
            f"---\n\n" + "\n".join(body))


def quiz(number: int) -> str:
    questions = []
    for q in range(20):
        questions.append(
            f"## Question {q} of quiz {number}: which is right?\n\n"
            f"- [x] The right answer {q}\n- [ ] A wrong answer {q}\n- [ ] Another wrong {q}\n\n"
            f"> Because the right answer is right, as the module said.\n")
    return (f"---\ntitle: Quiz {number}\npass_mark: 80\nquestions_per_attempt: 10\n---\n\n"
            + "\n".join(questions))


def scenario(number: int) -> str:
    steps = []
    for s in range(29):
        steps.append(
            f"## Step {s} {{#step-{s}}}\n\n{PARAGRAPH}\n\n"
            f"- [Go on to the next step](#step-{s + 1}){{jdm=information score=2}}\n"
            f"    > Good: that shares what you know.\n"
            f"- [Stop here](#failed){{score=0}}\n"
            f"    > That leaves the others without the picture.\n")
    steps.append("## The end {#step-29 .end result=pass}\n\nEveryone is safe.\n")
    steps.append("## Failed {#failed .end result=fail}\n\nIt went wrong.\n")
    return f"---\ntitle: Scenario {number}\nstart: step-0\n---\n\n" + "\n".join(steps)


def generated_course() -> dict[str, bytes]:
    files = {"course.md": b"---\ntitle: Benchmark course\ncode: BENCH-1\n---\n\nOverview.\n"}
    position = 0
    for n in range(100):
        position += 1
        files[f"{position:03d}-module-{n}.md"] = module(n).encode()
    for n in range(10):
        position += 1
        files[f"{position:03d}-quiz-{n}.quiz.md"] = quiz(n).encode()
    for n in range(5):
        position += 1
        files[f"{position:03d}-scenario-{n}.scenario.md"] = scenario(n).encode()
    return files


def best_of(rounds: int, action) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    files = generated_course()
    texts = [data.decode() for data in files.values()]

    def markdown_alone():
        converter = markdown.Markdown(extensions=list(MARKDOWN_EXTENSIONS),
                                      extension_configs=MARKDOWN_EXTENSION_CONFIGS)
        for text in texts:
            converter.reset().convert(text)

    def engine():
        result = parse_course_files(files, display_root="bench")
        assert result.ok, result.problems[:3]

    baseline = best_of(ROUNDS, markdown_alone)
    parsing = best_of(ROUNDS, engine)
    size = sum(len(data) for data in files.values()) / 1024
    print(f"generated course: {len(files)} files, {size:.0f} KB "
          "(100 modules of 5 KB, 10 quizzes of 20 questions, 5 scenarios of 30 steps)")
    print(f"  parse + validate + render / Python-Markdown alone: {parsing / baseline:.2f}")

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate(url)
        database = Database(url)
        # Parsed as import stores it, so the import does not render again.
        result = parse_course_files(files, display_root="bench",
                                    resolve_file=courses.VERSION_FILE_URLS)
        started = time.perf_counter()
        with database.write_session() as session:
            courses.import_parsed(session, [("bench", result)])
        first_import = time.perf_counter() - started

        def reimport():
            again = parse_course_files(files, display_root="bench",
                                       resolve_file=courses.VERSION_FILE_URLS)
            with database.write_session() as session:
                outcome, = courses.import_parsed(session, [("bench", again)])
                assert not outcome.changed

        noop = best_of(ROUNDS, reimport)
        database.engine.dispose()
    print(f"  first import (SQLite, store) / parse: {first_import / parsing:.2f}")
    print(f"  unchanged re-import (parse + compare hash) / parse: {noop / parsing:.2f}")


if __name__ == "__main__":
    main()
