"""The one rule for names and titles people type: control, separator and text-direction
characters are refused, with a message naming what was found."""

from __future__ import annotations

import pytest

from jesip_learn.core.typed_text import control_character_problem, refused_characters

REFUSED = ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
           "\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
           "\u2067", "\u2068", "\u2069"]
ALLOWED = ["Siân O’Brien-Smith", "Zoë Ångström", "Ōtaki Fire", "محمد", "王芳", "Joe\u00a0Bloggs",
           "Anne-Marie d'Arcy", "St John Ambulance (Cymru)", "Team 7 & co."]


@pytest.mark.parametrize("character", REFUSED)
def test_each_control_separator_and_direction_character_is_refused(character):
    assert refused_characters(f"Sam{character}Jones") == [f"U+{ord(character):04X}"]
    assert control_character_problem(f"Sam{character}Jones", "Full name") == (
        "Full name must not contain line breaks, tabs or other control characters, or "
        f"characters that change the direction of text (U+{ord(character):04X}): type it "
        "again without them")


@pytest.mark.parametrize("text", ALLOWED)
def test_names_in_any_script_are_allowed(text):
    assert control_character_problem(text, "Full name") == ""


def test_multi_line_text_may_hold_line_breaks_and_tabs_only():
    assert control_character_problem("One\r\nTwo\n\tThree", "Text", multi_line=True) == ""
    assert control_character_problem("One\u2028Two", "Text", multi_line=True).startswith(
        "Text must not contain control characters (other than line breaks and tabs)")
    assert refused_characters("a\x00b\u202ec\x00", multi_line=True) == ["U+0000", "U+202E"]
