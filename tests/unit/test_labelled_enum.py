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


class Light(LabelledEnum):
    """Members with more than a label: the subclass's `__init__` takes the rest."""

    colour: str

    def __init__(self, value: str, label: str, colour: str):
        self.colour = colour

    STOP = "stop", "Stop", "red"
    GO = "go", "Go", "green"


def test_a_subclass_may_give_its_members_more_than_a_label():
    assert Light.STOP == "stop" and Light("go") is Light.GO
    assert Light.STOP.label == "Stop" and Light.STOP.colour == "red"
    assert Light.GO.colour == "green"
    assert Light.choices() == [("stop", "Stop"), ("go", "Go")]
