"""JESIP Learn: joint emergency services interoperability training."""

__version__ = "0.1.0"
