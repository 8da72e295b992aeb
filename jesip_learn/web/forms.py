"""Shared pieces of the web forms: domain errors shown against their fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


def show_error(form: FlaskForm, field: str, message: str) -> None:
    """Put a domain error (AccountError, OrganisationError) against its form field."""
    target = getattr(form, field, None)
    if target is None:
        form.form_errors.append(message)
    else:
        target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]


def int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def choices(pairs) -> list[SelectChoice]:
    """Options for a select, radios or check boxes, from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]
