from jesip_learn.core.labelled import LabelledEnum


class Colour(LabelledEnum):
    RED = "red", "Bright red"
    DARK_BLUE = "dark-blue", "Navy"


def test_a_member_is_its_string_and_carries_its_label():
    assert Colour.RED == "red"
    assert str(Colour.DARK_BLUE) == "dark-blue"
    assert f"{Colour.DARK_BLUE}" == "dark-blue"
    assert Colour("dark-blue") is Colour.DARK_BLUE
    assert Colour.DARK_BLUE.label == "Navy"
    assert Colour.labels() == {"red": "Bright red", "dark-blue": "Navy"}
    assert Colour.choices() == [("red", "Bright red"), ("dark-blue", "Navy")]
    assert {"red": 1}[Colour.RED] == 1
