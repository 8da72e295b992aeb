"""Input errors: the domain's way of saying that what someone typed or chose cannot be
accepted as it is, with a message for them, which the view shows on the form.

Each area names its own (`AccountError`, `ExerciseError`, `LiveError`, `AuthoringError`,
...) with what its forms need besides the message: the field it belongs to, every problem
found at once. All of them derive from `InputError`, so that one no view catches still
reaches the person: the request edge answers it with the 400 page showing `message`, and
keeps nothing the request wrote, as it does for a refusal (core/refusals.py).
"""

from __future__ import annotations


class InputError(Exception):
    """What the person sent cannot be accepted; `message` says why, in words for them."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message
