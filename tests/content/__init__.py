"""Tests of jesip_learn.content, the pure course parsing layer."""
