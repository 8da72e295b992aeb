"""The parsed course: frozen, hashable dataclasses and the vocabularies they use.

Everything here is plain data. Collections are tuples so that a parsed course is
immutable and hashable; the database layer stores these values (and the raw files
they came from) and never needs to run Markdown again on a page view.

Line numbers (`line`) are 1-based lines of the item's source file, and `source` is the
file's path relative to the course folder, so later layers can point a trainer at
the exact place of anything they show.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from jesip_learn.content.render import FileUrls

# Vocabularies of content-format.md. Order matters: it is the order reports and
# forms show them in, and the order `all` expands to.
SERVICES: tuple[str, ...] = ("police", "fire", "ambulance", "other")
ROLES: tuple[str, ...] = ("operational", "tactical", "strategic", "control-room", "staff")
JDM_STAGES: tuple[str, ...] = ("information", "risk", "powers", "options", "action")
PRINCIPLES: tuple[str, ...] = ("co-locate", "communicate", "co-ordinate", "risk", "awareness")
# The command levels a role in a live exercise plays (ROLES without "staff").
EXERCISE_LEVELS: tuple[str, ...] = ("control-room", "operational", "tactical", "strategic")

# The seven fields of a METHANE message, in order: (letter, what the field holds).
METHANE_FIELDS: tuple[tuple[str, str], ...] = (
    ("M", "Major incident declared?"),
    ("E", "Exact location"),
    ("T", "Type of incident"),
    ("H", "Hazards present or suspected"),
    ("A", "Access routes that are safe to use"),
    ("N", "Number, type and severity of casualties"),
    ("E", "Emergency services present and those required"),
)

QuestionKind = Literal["single", "multiple", "ordering"]
# When a learner sees a quiz's right answers (`show_answers` in its front matter): after
# they have passed it (the default), after every attempt, or never. Whether each answer
# was right, and the explanations, are always shown once an attempt is submitted.
ShowAnswers = Literal["after-pass", "always", "never"]
SHOW_ANSWERS: tuple[str, ...] = ("after-pass", "always", "never")
StepKind = Literal["normal", "methane", "end"]
StepResult = Literal["pass", "fail"]
EventKind = Literal["normal", "methane", "decision", "end"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a course, pointing at a line of one of its files.

    `file` is relative to the course folder; `root` is what the caller asked paths to
    be shown relative to (by default the course folder's own name), so
    ``str(problem)`` reads ``jesip-awareness/04-methane.md:12: message``.
    """

    file: str
    line: int
    message: str
    root: str = ""

    @property
    def path(self) -> str:
        """The file as shown to the trainer: `root/file`, or `file` with no root."""
        return posixpath.join(self.root, self.file) if self.root else self.file

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Requirement:
    """Who must hold the course (`required_for`).

    `all` is expanded when parsing: ``services: [all]`` becomes every entry of
    SERVICES, so consumers only ever see concrete names. Empty tuples mean the course
    is not required of anyone. A learner is required to hold it when both their
    service and their role are listed.
    """

    services: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def applies_to(self, service: str, role: str) -> bool:
        return service in self.services and role in self.roles


@dataclass(frozen=True, slots=True)
class Module:
    """A reading page."""

    slug: str
    position: int  # 1-based place in the course, after ordering by file-name number
    title: str
    minutes: int | None
    objectives: tuple[str, ...]
    body_markdown: str
    html: str
    source: str

    @property
    def kind(self) -> str:
        return "module"


@dataclass(frozen=True, slots=True)
class Option:
    """One answer of a question.

    `id` is a short hash of the question id and the option's text, so it neither
    reveals the correct answer nor the correct order when sent to the browser, and it
    survives the trainer reordering options. `correct` is always False for ordering
    questions: their answer is `Question.correct_order`.
    """

    id: str
    html: str
    correct: bool
    line: int


@dataclass(frozen=True, slots=True)
class Question:
    """A `##` heading of a quiz and the answers under it.

    `title` is the heading's plain text and `title_html` its rendered form; `stem_html`
    is the text under the heading before the answers (often empty). `tags` are the
    trainer's labels from the heading's `{tags=...}` attribute (for example
    `application`, a question that asks the learner to apply the doctrine to a
    situation), in the order written; it defaults to none so that questions stored
    before tags existed still load.
    """

    id: str
    kind: QuestionKind
    title: str
    title_html: str
    stem_html: str
    options: tuple[Option, ...]
    correct_order: tuple[str, ...]  # option ids in the right order; ordering only
    explanation_html: str
    line: int
    tags: tuple[str, ...] = ()

    @property
    def correct_option_ids(self) -> frozenset[str]:
        """The set a learner must select exactly (choice questions)."""
        return frozenset(option.id for option in self.options if option.correct)


@dataclass(frozen=True, slots=True)
class Quiz:
    slug: str
    position: int
    title: str
    pass_mark: float  # percent, 0 to 100
    questions_per_attempt: int | None  # as written; None means all
    max_attempts: int | None  # None means unlimited
    intro_html: str  # text before the first question, if any
    questions: tuple[Question, ...]
    source: str
    # Defaults to "after-pass" so that quizzes stored before the setting existed load.
    show_answers: ShowAnswers = "after-pass"

    @property
    def kind(self) -> str:
        return "quiz"

    @property
    def questions_drawn(self) -> int:
        """How many questions one attempt draws: never more than the bank holds."""
        wanted = self.questions_per_attempt or len(self.questions)
        return min(wanted, len(self.questions))


@dataclass(frozen=True, slots=True)
class MethaneLine:
    letter: str  # "M", "E", "T", "H", "A", "N" or "E"
    label: str  # what the field holds, from METHANE_FIELDS
    text: str  # the trainer's model text, as written
    html: str


@dataclass(frozen=True, slots=True)
class MethaneModelAnswer:
    """The seven labelled lines of a `.methane` step, in METHANE order."""

    lines: tuple[MethaneLine, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Choice:
    """A link from one step to another, with the points and tags it carries."""

    id: str  # 1-based position among the step's choices, as text
    target: str  # step id
    label_html: str
    score: int
    jdm: str | None
    principle: str | None
    feedback_html: str
    line: int


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    title_html: str
    html: str  # the step's text, without its choices and without a model answer
    kind: StepKind
    result: StepResult | None  # set on endings only
    jdm: str | None
    principle: str | None
    choices: tuple[Choice, ...]
    model_answer: MethaneModelAnswer | None  # set on `.methane` steps only
    line: int


@dataclass(frozen=True, slots=True)
class Scenario:
    slug: str
    position: int
    title: str
    start: str  # id of the first step
    intro_html: str  # text before the first step, if any
    steps: tuple[Step, ...]
    source: str

    @property
    def kind(self) -> str:
        return "scenario"

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)


@dataclass(frozen=True, slots=True)
class ExerciseRole:
    """A part one participant plays in a live exercise (the front matter's `roles`)."""

    id: str
    title: str
    service: str  # one of SERVICES
    level: str  # one of EXERCISE_LEVELS
    line: int


@dataclass(frozen=True, slots=True)
class TalkGroup:
    """A named set of roles that all hear what is sent to the group."""

    id: str
    title: str
    roles: tuple[str, ...]  # role ids
    line: int


@dataclass(frozen=True, slots=True)
class Fact:
    """A key fact an event carries (a list item tagged `.fact`).

    `needs` are the roles that should come to know it, `within` how many seconds after
    the event arrived; the debrief shows, for each of them, whether and when it did.
    """

    id: str
    text: str  # as written, without its {...}
    html: str  # inline HTML
    needs: tuple[str, ...]  # role ids
    within: int | None  # seconds
    principle: str | None
    line: int


@dataclass(frozen=True, slots=True)
class DecisionOption:
    """One option of a `.decision` event; its score and feedback are for the debrief."""

    id: str  # 1-based position among the event's options, as text
    html: str  # inline HTML
    score: int
    feedback_html: str
    line: int


@dataclass(frozen=True, slots=True)
class ExerciseEvent:
    """A `##` heading of an exercise script: something that happens on the clock.

    Which fields mean something depends on `kind`: `from_role`, `within` and
    `model_answer` on `.methane` events (the M/ETHANE message `from_role` should send to
    `to` within `within` seconds); `roles` and `options` on `.decision` events.
    """

    id: str
    title: str
    title_html: str
    html: str  # the event's text, without its facts, options or model answer
    kind: EventKind
    at: int | None  # seconds after the clock starts; None: released by the facilitator
    to: tuple[str, ...]  # role and talk group ids it reaches
    facts: tuple[Fact, ...]
    from_role: str | None
    within: int | None  # seconds
    model_answer: MethaneModelAnswer | None
    roles: tuple[str, ...]  # role ids asked for a joint decision
    jdm: str | None
    principle: str | None
    options: tuple[DecisionOption, ...]
    line: int

    @property
    def manual(self) -> bool:
        return self.at is None


@dataclass(frozen=True, slots=True)
class ExerciseScript:
    """A `.exercise.md` page: a live multi-agency exercise, run by a facilitator.

    It is never taken alone, so a course's completion by a learner does not wait for it.
    """

    slug: str
    position: int
    title: str
    minutes: int | None
    roles: tuple[ExerciseRole, ...]
    talk_groups: tuple[TalkGroup, ...]
    briefing_html: str  # what every participant reads before the start
    events: tuple[ExerciseEvent, ...]
    source: str

    @property
    def kind(self) -> str:
        return "exercise"

    @property
    def end_at(self) -> int | None:
        """Seconds after the start when the `.end` event ends the exercise, if it has one."""
        return next((e.at for e in self.events if e.kind == "end" and e.at is not None), None)

    def event(self, event_id: str) -> ExerciseEvent | None:
        return next((event for event in self.events if event.id == event_id), None)

    def role(self, role_id: str) -> ExerciseRole | None:
        return next((role for role in self.roles if role.id == role_id), None)

    def talk_group(self, group_id: str) -> TalkGroup | None:
        return next((group for group in self.talk_groups if group.id == group_id), None)

    def members(self, target: str) -> tuple[str, ...]:
        """The role ids a `to=` entry reaches: a role itself, or a talk group's roles."""
        group = self.talk_group(target)
        if group is not None:
            return group.roles
        return (target,) if self.role(target) is not None else ()


Item = Module | Quiz | Scenario | ExerciseScript


@dataclass(frozen=True, slots=True)
class Course:
    code: str
    title: str
    summary: str
    minutes: int | None
    validity_months: int | None  # None: a completion never expires
    required_for: Requirement
    overview_markdown: str
    overview_html: str
    items: tuple[Item, ...]
    files: tuple[str, ...]  # images and PDFs shipped with the course, relative paths
    content_hash: str

    def item(self, slug: str) -> Item | None:
        return next((item for item in self.items if item.slug == slug), None)


@dataclass(frozen=True)
class ParseResult:
    """What parsing a course gave.

    `course` is set only when there are no problems, so an importer that stores
    `course` can never store half a course. `sources` is every file that was read,
    byte for byte (hidden files left out), keyed by path relative to the course folder:
    store exactly these to export the course unchanged. `content_hash` is the hash of
    `sources` (see hashing.py), computed even when there are problems. `draft` is the
    course as far as it could be built (missing values empty or None). `warnings` are
    item-writing flaws (see item_writing.py): worth fixing, but they never stop an import.
    `file_urls` is the FileUrls its HTML points files at (None for any other resolver), so
    that an importer can tell whether the HTML is the one to store. `timed_out` says the
    parsing worker ran out of time (worker.py): the one problem names the page it was reading.
    """

    course: Course | None
    problems: tuple[Problem, ...]
    sources: Mapping[str, bytes]
    content_hash: str
    draft: Course  # best effort even with problems: for previews in the editor, never to import
    warnings: tuple[Problem, ...] = ()
    file_urls: FileUrls | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems
