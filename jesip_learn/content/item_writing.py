"""Item-writing flaws: cues that let a test-wise learner find the right answer of a quiz
question, or the best choice of a scenario step, without knowing the subject.

They are warnings, not problems: worth fixing, never a reason to refuse a course. There
is one implementation of each check here, used by the validator (`courses validate`, zip
uploads and the browser editor, through `ParseResult.warnings`) and by the trainer's item
analysis page, so they all say the same thing about the same question.

Quiz questions (ordering questions are checked for negative wording only):
- **the right answer is the longest**: in a bank of at least MIN_BANK single-answer
  questions, the right answer is the longest option (a tie counts) in more than
  LONGEST_SHARE of them; and in any single-answer question, a right answer at least
  LONGER_BY times as long as the longest wrong one (and MIN_EXTRA_CHARACTERS longer),
  which gives itself away on its own. Select-all questions are left out of both: each of
  their options is judged on its own, several are right, and a learner who ticks the
  longest still has to find the others;
- **"all of the above" / "none of the above"** as an option;
- **an unstressed negative**: NOT, EXCEPT, never, cannot, least or an n't word in the
  question itself (the heading's last sentence, or the stem's when it ends with "?")
  without `**bold**`, `*emphasis*` or capitals. Words in quotation marks are names (the
  "talk not tell" rule), not negatives;
- **the right answer repeats the question** (a "clang" cue): a right answer shares a
  distinctive word (five letters or more, not a common word) with the question that no
  wrong answer uses.

Scenario walkthroughs, over their decision points (steps with two or more choices that
do not all score the same), once there are at least MIN_DECISIONS:
- the best-scoring choice is the longest (a tie counts) at more than half of them;
- the best-scoring choice is listed first at every one of them (choices are shown in the
  order written).

Lengths and words are read from the rendered text, so Markdown marks and links do not
count. Each flaw is found at the line a trainer would change: the option, the question's
heading, or line 1 (the front matter) for what concerns the whole bank or scenario.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from jesip_learn.content.model import Item, Problem, Question, Quiz, Scenario, Step

MIN_BANK = 5
LONGEST_SHARE = 0.4
LONGER_BY = 2.0
MIN_EXTRA_CHARACTERS = 10
MIN_DECISIONS = 2
BANK_LINE = 1  # the opening `---`: what concerns a whole page is shown beside its front matter

# "... of the above" anywhere; "all of these" and the like only as the whole answer, since
# "None of these crews is trained" is an answer of its own.
CATCH_ALL = re.compile(
    r"\b(all|none|both|neither) of the above\b"
    r"|^(all|none|both|neither) of (these|them|those)( answers| options)?[.!]?$",
    re.I,
)
NEGATIVE = re.compile(r"(?<!\bat )\b(?:not|never|except|cannot|least|\w+n['’]t)\b", re.I)
QUOTED = re.compile(r'"[^"]*"|“[^”]*”|‘[^’]*’')
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
WORD = re.compile(r"[a-z][a-z-]{4,}")

# Words too common to give an answer away when the right one repeats them from the
# question: everyday English, and the subject's own vocabulary (every JESIP question is
# about incidents, services, commanders and control rooms).
COMMON_WORDS = frozenset({
    "about", "above", "after", "again", "always", "among", "answer", "around", "because",
    "before", "being", "below", "between", "could", "during", "every", "first", "following",
    "might", "never", "often", "other", "others", "right", "should", "their", "there",
    "these", "those", "three", "through", "under", "until", "where", "which", "while",
    "whose", "would", "wrong", "incident", "incidents", "service", "services", "major",
    "joint", "message", "messages", "commander", "commanders", "control", "rooms", "police",
    "ambulance", "scene", "model", "principle", "principles", "point", "place", "people",
})


@dataclass(frozen=True, slots=True)
class Flaw:
    """One item-writing flaw, at a line of the item's file."""

    line: int
    message: str


# --- text from rendered HTML ------------------------------------------------------------------


class _TextReader(HTMLParser):
    """The text of a piece of HTML; with `stress`, emphasised text in capitals, so that a
    negative a trainer stressed reads like one written in capitals."""

    EMPHASIS = frozenset({"strong", "em", "b", "i"})

    def __init__(self, stress: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.stress = stress
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.EMPHASIS:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.EMPHASIS and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data.upper() if self.stress and self.depth else data)


def text_of(html: str, *, stress: bool = False) -> str:
    reader = _TextReader(stress)
    reader.feed(html or "")
    reader.close()
    return " ".join("".join(reader.parts).split())


def _lines(numbers: Sequence[int]) -> str:
    shown = [str(number) for number in numbers[:10]]
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    if len(shown) == 1:
        return f"line {shown[0]}"
    if more:
        return "lines " + ", ".join(shown) + more
    return "lines " + ", ".join(shown[:-1]) + f" and {shown[-1]}"


# --- quiz questions -----------------------------------------------------------------------


def is_choice(question: Question) -> bool:
    return question.kind in ("single", "multiple") and len(question.options) >= 2


def right_is_longest(question: Question) -> bool:
    """Whether a right answer of a choice question is its longest option (a tie counts)."""
    if not is_choice(question) or not question.correct_option_ids:
        return False
    lengths = [(len(text_of(option.html)), option.correct) for option in question.options]
    longest = max(length for length, _correct in lengths)
    return any(correct and length == longest for length, correct in lengths)


def longest_right_answers(quiz: Quiz) -> Flaw | None:
    """The bank's right answers are the longest option too often to be chance."""
    single = [q for q in quiz.questions if q.kind == "single" and is_choice(q)]
    if len(single) < MIN_BANK:
        return None
    longest = [q.line for q in single if right_is_longest(q)]
    if len(longest) <= LONGEST_SHARE * len(single):
        return None
    return Flaw(BANK_LINE, (
        f"the right answer is the longest option in {len(longest)} of {len(single)} "
        f"single-answer questions (more than {LONGEST_SHARE:.0%}), so picking the longest "
        "answer scores well without knowing the subject: write wrong answers as long and "
        f"as detailed as the right ones (questions on {_lines(longest)})"))


def much_longer_right_answer(question: Question) -> Flaw | None:
    """The right answer of a single-answer question, far longer than every wrong one."""
    if question.kind != "single" or not is_choice(question):
        return None
    wrong = [len(text_of(option.html)) for option in question.options if not option.correct]
    right = [(len(text_of(option.html)), option) for option in question.options
             if option.correct]
    if not wrong or not right:
        return None
    longest_wrong = max(wrong)
    length, option = max(right, key=lambda pair: pair[0])
    if length >= LONGER_BY * longest_wrong and length - longest_wrong >= MIN_EXTRA_CHARACTERS:
        return Flaw(option.line, (
            f"the right answer is much longer than every wrong one ({length} characters "
            f"against at most {longest_wrong}), which gives it away: make the wrong answers "
            "as detailed, or this one shorter"))
    return None


def catch_all_options(question: Question) -> list[Flaw]:
    """'All of the above' and 'none of the above' options."""
    if question.kind == "ordering":
        return []
    flaws = []
    for option in question.options:
        found = CATCH_ALL.search(text_of(option.html))
        if found is None:
            continue
        phrase = found.group(0).lower()
        why = ("a learner who knows that any one other answer is wrong can rule it out, and "
               "does not need to know the right one" if phrase.startswith(("none", "neither"))
               else "a learner who spots two right answers picks it without knowing the rest")
        flaws.append(Flaw(option.line, f"“{found.group(0)}” as an answer: {why}. Write an "
                                       "answer that stands on its own"))
    return flaws


def _asked(html: str, *, only_questions: bool) -> str:
    """The sentence that asks: the last of the text, quotations taken out (they are names,
    such as the rule "talk not tell"); with `only_questions`, "" unless it ends with '?'."""
    text = text_of(html, stress=True)
    if only_questions and not text.endswith("?"):
        return ""
    sentences = [part for part in SENTENCE_END.split(text) if part.strip()]
    return QUOTED.sub(" ", sentences[-1]) if sentences else ""


def unstressed_negative(question: Question) -> Flaw | None:
    """A negatively worded question whose negative is not stressed."""
    for asked in (_asked(question.title_html, only_questions=False),
                  _asked(question.stem_html, only_questions=True)):
        for found in NEGATIVE.finditer(asked):
            word = found.group(0)
            if not word.isupper():
                return Flaw(question.line, (
                    f"the question asks with “{word}” without stressing it: learners read "
                    f"past a negative. Write it as **{word.lower()}** or in capitals, or ask "
                    "the question the positive way round"))
    return None


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower())) - COMMON_WORDS


def stem_echoes(question: Question) -> list[Flaw]:
    """Right answers that repeat words of the question that no wrong answer uses."""
    if not is_choice(question):
        return []
    stem = _words(text_of(question.title_html) + " " + text_of(question.stem_html))
    wrong: set[str] = set()
    for option in question.options:
        if not option.correct:
            wrong |= _words(text_of(option.html))
    if not wrong:
        return []
    flaws = []
    for option in question.options:
        echoed = sorted((_words(text_of(option.html)) & stem) - wrong) if option.correct else []
        if echoed:
            said = ", ".join(f"“{word}”" for word in echoed)
            flaws.append(Flaw(option.line, (
                f"this right answer repeats {said} from the question and no wrong answer "
                "does, so it can be matched without knowing the answer: reword it, or use "
                "the word in a wrong answer too")))
    return flaws


def question_flaws(question: Question) -> list[Flaw]:
    """Every flaw of one question, in line order."""
    flaws = [unstressed_negative(question), much_longer_right_answer(question),
             *catch_all_options(question), *stem_echoes(question)]
    return sorted((flaw for flaw in flaws if flaw is not None), key=lambda flaw: flaw.line)


def quiz_flaws(quiz: Quiz) -> list[Flaw]:
    """Every flaw of a quiz: the bank's first, then each question's."""
    bank = longest_right_answers(quiz)
    return [*([bank] if bank else []),
            *(flaw for question in quiz.questions for flaw in question_flaws(question))]


# --- scenario choices -----------------------------------------------------------------------


def decision_points(scenario: Scenario) -> list[Step]:
    """The steps where the learner chooses between choices that do not all score the same."""
    return [step for step in scenario.steps if len(step.choices) >= 2
            and len({choice.score for choice in step.choices}) > 1]


def best_is_longest(step: Step) -> bool:
    best = max(choice.score for choice in step.choices)
    lengths = [(len(text_of(choice.label_html)), choice.score) for choice in step.choices]
    longest = max(length for length, _score in lengths)
    return any(score == best and length == longest for length, score in lengths)


def best_is_first(step: Step) -> bool:
    return step.choices[0].score == max(choice.score for choice in step.choices)


def longest_best_choices(scenario: Scenario) -> Flaw | None:
    decisions = decision_points(scenario)
    if len(decisions) < MIN_DECISIONS:
        return None
    longest = [step.line for step in decisions if best_is_longest(step)]
    if len(longest) * 2 <= len(decisions):
        return None
    return Flaw(BANK_LINE, (
        f"the best choice is the longest at {len(longest)} of {len(decisions)} decision "
        "points (more than half), so picking the longest choice does well without judging "
        f"the situation: write other choices as fully (steps on {_lines(longest)})"))


def best_choices_first(scenario: Scenario) -> Flaw | None:
    decisions = decision_points(scenario)
    if len(decisions) < MIN_DECISIONS or not all(best_is_first(step) for step in decisions):
        return None
    return Flaw(BANK_LINE, (
        f"the best choice comes first at every decision point ({len(decisions)} of "
        f"{len(decisions)}): choices are shown in the order written, so put the best one "
        f"in different places (steps on {_lines([step.line for step in decisions])})"))


def scenario_flaws(scenario: Scenario) -> list[Flaw]:
    flaws = [longest_best_choices(scenario), best_choices_first(scenario)]
    return [flaw for flaw in flaws if flaw is not None]


# --- a whole course ---------------------------------------------------------------------------


def item_flaws(item: Item) -> list[Flaw]:
    if isinstance(item, Quiz):
        return quiz_flaws(item)
    if isinstance(item, Scenario):
        return scenario_flaws(item)
    return []


def course_warnings(items: Iterable[Item], root: str = "") -> tuple[Problem, ...]:
    """Every item's flaws as `file:line` warnings, by file and line."""
    found = [Problem(item.source, flaw.line, flaw.message, root)
             for item in items for flaw in item_flaws(item)]
    return tuple(sorted(found, key=lambda warning: (warning.file, warning.line)))
