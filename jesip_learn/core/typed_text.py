"""What people may type into names and titles: one rule, used by every form, file import and
command that stores a person's or an organisation's name, an exercise's title or location,
a scheduled report's name and other free text.

Refused: the C0 and C1 control characters (line breaks, tabs, escape, NUL, DEL…), the line
and paragraph separators U+2028 and U+2029, and the bidirectional embedding, override and
isolate characters (U+202A–U+202E, U+2066–U+2069), which make text display in an order other
than the one it is stored in. A name holding them could break an email's headers, split a
row of a report, or show one name while being another. Multi-line text (a learning point)
may hold line breaks and tabs, and nothing else of these.

Pure: no database, no Flask.
"""

from __future__ import annotations

LINE_BREAKS = frozenset("\n\r\t")
BIDI_CONTROLS = frozenset(
    [chr(code) for code in range(0x202A, 0x202F)] + [chr(code) for code in range(0x2066, 0x206A)])
LINE_SEPARATORS = frozenset("\u2028\u2029")


def is_refused(character: str, *, multi_line: bool = False) -> bool:
    code = ord(character)
    if multi_line and character in LINE_BREAKS:
        return False
    return (code < 0x20 or 0x7F <= code <= 0x9F or character in LINE_SEPARATORS
            or character in BIDI_CONTROLS)


def refused_characters(text: str, *, multi_line: bool = False) -> list[str]:
    """The refused characters in the text, each once, as U+XXXX, in order of appearance."""
    found: list[str] = []
    for character in text or "":
        if is_refused(character, multi_line=multi_line):
            code = f"U+{ord(character):04X}"
            if code not in found:
                found.append(code)
    return found


def control_character_problem(text: str, label: str, *, multi_line: bool = False) -> str:
    """The error message for a field holding a refused character ("" when there is none).
    `label` names the field as its form does, capitalised: "Full name", "Title"."""
    found = refused_characters(text, multi_line=multi_line)
    if not found:
        return ""
    kinds = ("control characters (other than line breaks and tabs)" if multi_line
             else "line breaks, tabs or other control characters")
    return (f"{label} must not contain {kinds}, or characters that change the direction of "
            f"text ({', '.join(found)}): type it again without them")
