"""Reference data shipped with the platform."""
