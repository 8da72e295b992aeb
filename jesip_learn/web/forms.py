"""Shared pieces of the web forms: domain errors shown against their fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from jesip_learn.core.numbers import DATABASE_INTEGER_MAX, whole_number


def show_error(form: FlaskForm, field: str, message: str) -> None:
    """Put a domain error (AccountError, OrganisationError) against its form field."""
    target = getattr(form, field, None)
    if target is None:
        form.form_errors.append(message)
    else:
        target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]


def int_or_none(value) -> int | None:
    """A number from a form field or the query string (an id, a page, a version), or None
    when it is not one the database could hold (see jesip_learn.core.numbers)."""
    return whole_number(value)


def page_number(value) -> int:
    """The page of a list asked for in the query string: 1 when it is not a number. A number
    beyond the database's integers is taken as the largest, which a list shows as its last
    page, as it shows any page beyond its end."""
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()):
        return 1
    number = whole_number(text)
    return max(1, DATABASE_INTEGER_MAX if number is None else number)


def choices(pairs) -> list[SelectChoice]:
    """Options for a select, radios or check boxes, from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]
