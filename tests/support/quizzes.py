"""Form values that answer a quiz's questions right or wrong, as a browser would send them."""

from __future__ import annotations

from collections.abc import Iterable

from jesip_learn.content import Question


def answer_values(questions: Iterable[Question], *, right: bool = True) -> dict[str, list[str]]:
    """{field name: [values]} answering every question, all right or all wrong."""
    values: dict[str, list[str]] = {}
    for question in questions:
        if question.kind == "ordering":
            order = list(question.correct_order)
            if not right:
                order.reverse()
            for position, option_id in enumerate(order, start=1):
                values[f"{question.id}.{option_id}"] = [str(position)]
        elif right:
            values[question.id] = sorted(question.correct_option_ids)
        else:
            wrong = next(o.id for o in question.options if not o.correct)
            values[question.id] = [wrong]
    return values
