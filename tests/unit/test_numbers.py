"""Whole numbers from people and addresses: the digits 0 to 9 alone, within the database's
integers, for the shared parser and the `<int:…>` URL converter alike."""

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from jesip_learn.core.numbers import DATABASE_INTEGER_MAX, whole_number
from jesip_learn.web.converters import DatabaseIntegerConverter


@pytest.mark.parametrize(("text", "number"), [
    ("12", 12), (" 12 ", 12), ("0", 0), ("007", 7), (str(DATABASE_INTEGER_MAX),
                                                     DATABASE_INTEGER_MAX),
    ("0" * 40 + "1", 1),
])
def test_numbers_written_in_ascii_digits_are_read(text, number):
    assert whole_number(text) == number


@pytest.mark.parametrize("text", [
    "²", "١٢", "１２", "-1", "+1", "1_000", "1.0", "1e3", "", "  ", None, 12,
    str(DATABASE_INTEGER_MAX + 1), str(2**63), "9" * 23, "9" * 5000, "1\x00",
])
def test_anything_else_is_not_a_number(text):
    assert whole_number(text) is None


def test_a_smaller_maximum_can_be_asked_for():
    assert whole_number("120", maximum=120) == 120
    assert whole_number("121", maximum=120) is None


def _adapter():
    url_map = Map([Rule("/users/<int:user_id>", endpoint="user")],
                  converters={"int": DatabaseIntegerConverter})
    return url_map.bind("jesip.test")


@pytest.mark.parametrize("segment", ["12", "0", str(DATABASE_INTEGER_MAX)])
def test_the_url_converter_takes_the_databases_integers(segment):
    assert _adapter().match(f"/users/{segment}") == ("user", {"user_id": int(segment)})


@pytest.mark.parametrize("segment", ["١٢", "²", "-1", str(DATABASE_INTEGER_MAX + 1),
                                     str(2**64), "9" * 5000])
def test_the_url_converter_matches_nothing_else(segment):
    with pytest.raises(NotFound):
        _adapter().match(f"/users/{segment}")
