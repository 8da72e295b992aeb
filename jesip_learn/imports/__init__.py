"""Imports: two-step CSV imports of people and completions."""
