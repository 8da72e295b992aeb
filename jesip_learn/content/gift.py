"""Moodle question banks in GIFT format → questions of a `.quiz.md` page.

GIFT (Moodle's "General Import Format Template") writes one question per paragraph:
`::name::` an optional name, `[html]`, `[markdown]`, `[plain]` or `[moodle]` an optional
text format, the text, then the answers in braces: `=` a right answer, `~` a wrong one,
`~%50%` a weighted one, `#` feedback on the answer before it, `####` feedback on the
question; `{T}`/`{F}` true or false; `->` pairs for matching; `{#…}` numbers; `{}` an
essay. Text after the braces makes a "missing word" question. `$CATEGORY: a/b` sets the
category of the questions after it, `//` starts a comment line, and `\\~ \\= \\# \\{ \\} \\:`
(and `\\n`, a new line) are the characters themselves.

What our format can hold is converted: single and multiple choice, true or false
(a single choice of True and False), missing word (the sentence with a blank), feedback
as the explanation. What it cannot (numbers, typed short answers, essays, matching,
descriptions, partial credit but for select-all questions whose right answers share the
marks equally) is never changed into something else: it is listed with its line and the
reason, and skipped.

Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from jesip_learn.content.page import heading_id

# Escaped characters stand in the text as these until the structure is read.
_ESCAPES = {"\\\\": "\ue000", "\\~": "\ue001", "\\=": "\ue002", "\\#": "\ue003",
            "\\{": "\ue004", "\\}": "\ue005", "\\:": "\ue006"}
_UNESCAPED = {"\ue000": "\\", "\ue001": "~", "\ue002": "=", "\ue003": "#", "\ue004": "{",
              "\ue005": "}", "\ue006": ":"}
FORMATS = ("moodle", "html", "plain", "markdown")
FORMAT_MARK = re.compile(r"^\[(moodle|html|plain|markdown)\]", re.IGNORECASE)
WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
TRUE_FALSE = re.compile(r"^(T|TRUE|F|FALSE)\s*(?:#(.*?))?\s*(?:#(.*))?$", re.DOTALL)
BLOCK_HTML = re.compile(r"<(p|div|ul|ol|table|img|br|h[1-6]|pre|blockquote)\b", re.IGNORECASE)
# Characters that mean something in Markdown (or in our headings' {attributes}).
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}#!])")
BLANK_MARK = "\ue010"  # where a missing-word question's blank goes


@dataclass(frozen=True, slots=True)
class ImportedQuestion:
    """A question our format can hold, as Markdown pieces ready for a `.quiz.md` page."""

    line: int  # where it starts in the bank
    name: str
    category: str
    kind: str  # "single" or "multiple"
    title: str  # one line of inline Markdown
    stem: str  # Markdown, may be empty
    options: tuple[tuple[str, bool], ...]  # (inline Markdown, right?)
    explanation: str  # Markdown, may be empty


@dataclass(frozen=True, slots=True)
class SkippedQuestion:
    line: int
    name: str
    reason: str

    def describe(self, bank: str = "") -> str:
        where = f"{bank}:{self.line}" if bank else f"line {self.line}"
        named = f" ({self.name})" if self.name else ""
        return f"{where}: skipped{named}: {self.reason}"


@dataclass(frozen=True, slots=True)
class GiftBank:
    questions: tuple[ImportedQuestion, ...]
    skipped: tuple[SkippedQuestion, ...]

    @property
    def categories(self) -> tuple[tuple[str, int], ...]:
        """Each category of the converted questions with how many, in bank order."""
        counts = Counter(question.category for question in self.questions)
        seen = dict.fromkeys(question.category for question in self.questions)
        return tuple((name, counts[name]) for name in seen)

    def in_category(self, prefix: str) -> GiftBank:
        """Only the questions of the category named, or of the categories under it."""
        wanted = prefix.strip().strip("/").lower()
        return GiftBank(tuple(q for q in self.questions if _in_category(q.category, wanted)),
                        self.skipped)


def _in_category(category: str, wanted: str) -> bool:
    name = category.strip("/").lower()
    return name == wanted or name.startswith(wanted + "/") or name.endswith("/" + wanted)


class _Skip(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- reading the bank ------------------------------------------------------------------


def parse_gift(text: str) -> GiftBank:
    """Every question of a GIFT bank, converted or skipped with its line and reason."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    questions: list[ImportedQuestion] = []
    skipped: list[SkippedQuestion] = []
    category = ""
    for line_number, chunk in _chunks(text):
        if chunk.startswith("$CATEGORY:"):
            first, _, rest = chunk.partition("\n")
            category = _clean_category(first.removeprefix("$CATEGORY:"))
            line_number += 1
            chunk = rest.strip()
            if not chunk:
                continue
        name = ""
        try:
            escaped = _escape(chunk)
            name, body = _name_of(escaped)
            questions.append(_question(body, name, category, line_number))
        except _Skip as skip:
            skipped.append(SkippedQuestion(line_number, name, skip.reason))
    return GiftBank(tuple(questions), tuple(skipped))


def _chunks(text: str):
    """(line number, text) of each paragraph, comment lines left out."""
    lines: list[str] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip().startswith("//"):
            continue
        if not line.strip():
            if lines:
                yield start, "\n".join(lines).strip()
                lines = []
            continue
        if not lines:
            start = number
        lines.append(line)
    if lines:
        yield start, "\n".join(lines).strip()


def _clean_category(raw: str) -> str:
    name = raw.strip()
    for prefix in ("$course$/", "$system$/", "$module$/", "$coursecategory$/"):
        name = name.removeprefix(prefix)
    name = name.removeprefix("top/")
    return name.strip("/")


def _escape(text: str) -> str:
    for sequence, stand_in in _ESCAPES.items():
        text = text.replace(sequence, stand_in)
    return text.replace("\\n", "\n")


def _unescape(text: str) -> str:
    for stand_in, character in _UNESCAPED.items():
        text = text.replace(stand_in, character)
    return text


def _name_of(text: str) -> tuple[str, str]:
    if text.startswith("::"):
        end = text.find("::", 2)
        if end == -1:
            raise _Skip("its name has no closing ::")
        return _unescape(text[2:end]).strip(), text[end + 2:].strip()
    return "", text


def _question(text: str, name: str, category: str, line: int) -> ImportedQuestion:
    text_format = "moodle"
    mark = FORMAT_MARK.match(text)
    if mark:
        text_format = mark.group(1).lower()
        text = text[mark.end():].lstrip()
    opening = text.find("{")
    if opening == -1:
        raise _Skip("a description (text with no answers) is not a question")
    closing = text.find("}", opening)
    if closing == -1:
        raise _Skip("its answers have no closing }")
    before, block, after = text[:opening], text[opening + 1:closing], text[closing + 1:]
    if "{" in after:
        raise _Skip("it has more than one set of answers in braces")
    question_text = (f"{before.rstrip()} {BLANK_MARK} {after.lstrip()}".strip()
                     if after.strip() else before.strip())
    answers_text, _, general = block.partition("####")
    answers_text = answers_text.strip()
    if not answers_text:
        raise _Skip("an essay question needs a person to mark it; our quizzes mark "
                    "themselves")
    if answers_text.startswith("#"):
        raise _Skip("a numerical question: our quizzes have no number answers")
    true_false = TRUE_FALSE.match(answers_text)
    if true_false:
        options, explanation = _true_false(true_false, text_format)
        kind = "single"
    else:
        kind, options, explanation = _choices(answers_text, text_format)
    if not question_text:
        raise _Skip("it has no question text")
    title, stem = _title_and_stem(question_text, name, line, text_format)
    general_feedback = _markdown(general.strip(), text_format)
    explanation = "\n\n".join(part for part in (general_feedback, explanation) if part)
    texts = [option for option, _ in options]
    repeated = {option for option in texts if texts.count(option) > 1}
    if repeated:
        raise _Skip(f"two of its answers are the same ({_unescape(sorted(repeated)[0])})")
    return ImportedQuestion(line=line, name=name, category=category, kind=kind, title=title,
                            stem=stem, options=tuple(options), explanation=explanation)


def _true_false(match: re.Match, text_format: str):
    right_is_true = match.group(1).upper().startswith("T")
    wrong_feedback = (match.group(2) or "").strip()
    right_feedback = (match.group(3) or "").strip()
    options = [("True", right_is_true), ("False", not right_is_true)]
    lines = []
    for label, right in options:
        feedback = right_feedback if right else wrong_feedback
        if feedback:
            lines.append(f"- {label}: {_inline(feedback, text_format)}")
    return options, "\n".join(lines)


def _answer_tokens(text: str) -> list[tuple[str, str]]:
    """(marker, rest) for each answer: the marker is '=' or '~'."""
    tokens = []
    for match in re.finditer(r"([=~])([^=~]*)", text):
        tokens.append((match.group(1), match.group(2)))
    leading = text[:text.find(tokens[0][0])] if tokens else text
    if leading.strip():
        raise _Skip(f"its answers start with text that is not an answer ({_unescape(leading)})")
    return tokens


def _choices(text: str, text_format: str):
    tokens = _answer_tokens(text)
    if not tokens:
        raise _Skip("it has no answers")
    if all(marker == "=" for marker, _ in tokens):
        if any("->" in rest for _, rest in tokens):
            raise _Skip("a matching question: our quizzes have no matching questions")
        partial = any(WEIGHT.match(rest.strip()) for _, rest in tokens)
        raise _Skip("a short-answer question (typed answers"
                    + (", with partial credit" if partial else "")
                    + "): our quizzes have choice and ordering questions only")
    answers = []
    for marker, rest in tokens:
        rest = rest.strip()
        weight = 100.0 if marker == "=" else 0.0
        found = WEIGHT.match(rest)
        if found:
            weight = float(found.group(1))
            rest = rest[found.end():].strip()
        answer, _, feedback = rest.partition("#")
        answers.append((marker, weight, answer.strip(), feedback.strip()))
    if len(answers) < 2:
        raise _Skip("it has fewer than two answers")
    if any(not answer for _, _, answer, _ in answers):
        raise _Skip("one of its answers is empty")
    positive = [weight for _, weight, _, _ in answers if weight > 0]
    if any(marker == "=" for marker, *_ in answers):
        # Moodle: with an = answer the learner picks one.
        full = [weight for weight in positive if weight >= 100]
        if len(full) > 1:
            raise _Skip("more than one answer gives full marks, and a single-answer "
                        "question here has one right answer")
        if len(positive) > len(full):
            raise _Skip("an answer gives partial credit, which our quizzes cannot give")
        kind = "single"
        rights = [weight >= 100 for _, weight, _, _ in answers]
    else:
        # Moodle: without an = answer the learner may pick several (multiple answers).
        if not positive:
            raise _Skip("none of its answers is right")
        share = 100 / len(positive)
        if any(abs(weight - share) > 0.01 for weight in positive) or \
                abs(sum(positive) - 100) > 0.1:
            raise _Skip("its right answers carry different or partial marks, which our "
                        "quizzes cannot give (a question becomes select-all-that-apply only "
                        "when its right answers share the marks equally)")
        kind = "multiple" if len(positive) > 1 else "single"
        rights = [weight > 0 for _, weight, _, _ in answers]
    options = [(_inline(answer, text_format), right)
               for (_, _, answer, _), right in zip(answers, rights, strict=True)]
    feedback_lines = [f"- {option}: {_inline(feedback, text_format)}"
                      for (option, _), (_, _, _, feedback) in zip(options, answers, strict=True)
                      if feedback]
    return kind, options, "\n".join(feedback_lines)


# --- text, as Markdown ------------------------------------------------------------------


def _title_and_stem(text: str, name: str, line: int, text_format: str) -> tuple[str, str]:
    if text_format == "html" and BLOCK_HTML.search(text):
        # Block HTML cannot sit in a heading: the name heads the question, the HTML follows.
        return (_inline(name, "plain") or f"Question from line {line}",
                _unescape(text).replace(BLANK_MARK, "_____"))
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    title = _inline(paragraphs[0], text_format)
    stem = "\n\n".join(_markdown(part, text_format) for part in paragraphs[1:])
    return title, stem


def _inline(text: str, text_format: str) -> str:
    """One line of inline Markdown."""
    return " ".join(_markdown(text, text_format).split())


def _markdown(text: str, text_format: str) -> str:
    if text_format == "html":
        return _unescape(text).replace(BLANK_MARK, "_____").strip()
    if text_format == "markdown":
        return _unescape(text).replace(BLANK_MARK, "\\_" * 5).strip()
    # Moodle's own format and plain text: what the trainer typed is what the learner reads
    # (Moodle's format lets HTML tags through; plain text shows them as written).
    escaped = MARKDOWN_SPECIAL.sub(r"\\\1", _unescape(text))
    if text_format == "plain":
        escaped = escaped.replace("&", "&amp;").replace("<", "&lt;")
    return escaped.replace(BLANK_MARK, "\\_" * 5).strip()


# --- writing the questions into a quiz page ------------------------------------------------


def question_markdown(question: ImportedQuestion, taken_ids: set[str]) -> str:
    identifier = heading_id(question.name) if question.name else ""
    if identifier:
        base, suffix = identifier, 1
        while identifier in taken_ids:
            suffix += 1
            identifier = f"{base}-{suffix}"
        taken_ids.add(identifier)
    heading = f"## {question.title}" + (f" {{#{identifier}}}" if identifier else "")
    parts = [heading]
    if question.stem:
        parts.append(question.stem)
    parts.append("\n".join(f"- [{'x' if right else ' '}] {text}"
                           for text, right in question.options))
    if question.explanation:
        parts.append("\n".join(f"> {line}" if line else ">"
                               for line in question.explanation.split("\n")))
    return "\n\n".join(parts) + "\n"


def new_quiz_page(title: str, pass_mark: float = 80) -> str:
    safe_title = title.replace('"', "'")
    return f'---\ntitle: "{safe_title}"\npass_mark: {pass_mark:g}\n---\n'


def add_questions(page: str, questions: tuple[ImportedQuestion, ...],
                  taken_ids: set[str]) -> str:
    """`page` with the questions added after its own, each under its `##` heading."""
    body = page.rstrip("\n") + "\n"
    added = "\n".join(question_markdown(question, taken_ids) for question in questions)
    return f"{body}\n{added}" if added else body


def existing_question_ids(page: str) -> set[str]:
    """The ids a page's questions already use (written or derived from their headings)."""
    ids = set()
    for line in page.split("\n"):
        if line.startswith("## "):
            title = line[3:].strip()
            found = re.search(r"\{#([^}\s]+)\}\s*$", title)
            ids.add(found.group(1) if found else heading_id(title))
    return ids


# --- a whole import: the bank into a page ---------------------------------------------------

MAX_BANK_BYTES = 2 * 1024 * 1024


class GiftRefused(Exception):
    """Nothing was added; `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class GiftImport:
    text: str  # the quiz page with the questions added
    added: tuple[ImportedQuestion, ...]
    skipped: tuple[SkippedQuestion, ...]
    categories: tuple[tuple[str, int], ...]


def read_bank(data: bytes) -> str:
    if len(data) > MAX_BANK_BYTES:
        raise GiftRefused(f"The GIFT file is too big ({len(data) // 1024} KB): the limit is "
                          f"{MAX_BANK_BYTES // 1024 // 1024} MB. Export fewer categories.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GiftRefused("The GIFT file is not UTF-8 text: export it from Moodle again, or "
                          "save it as UTF-8.") from None


def import_into_page(page: str | None, bank_text: str, *, title: str, pass_mark: float = 80,
                     category: str | None = None) -> GiftImport:
    """The quiz page (a new one titled `title` when `page` is None) with every question
    of the bank our format can hold added at its end; GiftRefused when there is none."""
    bank = parse_gift(bank_text)
    if category:
        bank = bank.in_category(category)
    if not bank.questions:
        within = f" in the category {category}" if category else ""
        raise GiftRefused(f"No question{within} in the GIFT file can be added: "
                          + (f"all {len(bank.skipped)} were skipped." if bank.skipped
                             else "it holds no questions."))
    base = page if page is not None else new_quiz_page(title, pass_mark)
    text = add_questions(base, bank.questions, existing_question_ids(base))
    return GiftImport(text=text, added=bank.questions, skipped=bank.skipped,
                      categories=bank.categories)
