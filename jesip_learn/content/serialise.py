"""Parsed items to JSON-ready data and back, so the database can keep them rendered.

The dataclasses of model.py are rebuilt from their own type hints, so a field added there
needs nothing here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache

from jesip_learn.content.model import ExerciseScript, Item, Module, Quiz, Scenario

ITEM_TYPES: dict[str, type] = {
    "module": Module, "quiz": Quiz, "scenario": Scenario, "exercise": ExerciseScript
}


def item_to_data(item: Item) -> dict:
    return dataclasses.asdict(item)


def item_from_data(kind: str, data: dict) -> Item:
    return _build(ITEM_TYPES[kind], data)


@cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict):
    hints = _hints(cls)
    values = {
        field.name: _convert(hints[field.name], data[field.name])
        for field in dataclasses.fields(cls)
        if field.name in data
    }
    return cls(**values)


def _convert(hint, value):
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    if origin is tuple:
        (element, *_rest) = typing.get_args(hint)
        return tuple(_convert(element, v) for v in value)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            if option is not type(None) and (
                dataclasses.is_dataclass(option) or typing.get_origin(option) is tuple
            ):
                return _convert(option, value)
        return value
    return value
