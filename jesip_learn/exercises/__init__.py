"""Exercises: recorded multi-agency exercises and their learning points, and live exercises
(`live/`)."""
