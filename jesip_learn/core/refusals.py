"""Refusals: the domain's way of saying no, which the request edge turns into a page.

A domain function raises `NotAllowed` when the person may not do this (the edge answers
403) and `NotFound` when there is no such thing, or none they may know of (404); the edge
also abandons the request's transaction, so nothing written before the refusal is kept.
An area's own refusals subclass these (courses.authoring.NotAllowed), so a caller may still
catch them by their area's name, and an uncaught one is never a server error.
"""

from __future__ import annotations


class Refusal(Exception):
    """Refused, with a message for the person refused (empty: the page's own words), or
    only a `reason` for the log and the tests, in words not meant for the page."""

    def __init__(self, message: str = "", *, reason: str = ""):
        super().__init__(reason or message)
        self.message = message


class NotAllowed(Refusal, PermissionError):
    """The person may not do this (still a PermissionError, as the domain raised before)."""


class NotFound(Refusal):
    """No such thing, or none this person may know of."""
