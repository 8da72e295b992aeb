"""Helpers shared by the tests: database set-up, factories, page checks."""
