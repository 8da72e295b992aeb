"""The one base for a fixed set of values that people read: each member is its stored string
and carries its label, so a value and the words shown for it are written once."""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """`POLICE = "police", "Police"`: the member equals (and stores as) "police" and says
    "Police". A subclass may give each member more after the label, and take it in its own
    `__init__` (which receives the whole tuple)."""

    label: str

    def __new__(cls, value: str, label: str, *more: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[LabelledEnum, str]:
        """Each member's label, by member (and so by its string)."""
        return {member: member.label for member in cls}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs in the order the members are written, for a form's choices."""
        return [(member.value, member.label) for member in cls]
