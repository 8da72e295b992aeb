"""Every app the tests make compiles the same URL rules again: werkzeug turns each rule into
two small Python functions (building a URL for it), through `ast` and `compile`, which is
most of what making an app costs. The tests make an app per test, so the compiled functions
are kept here and reused by every later rule of the same shape."""

from __future__ import annotations

from werkzeug.routing.rules import Rule

_compile = Rule._compile_builder
_compiled: dict[tuple, object] = {}


def _shape(rule: Rule, append_unknown: bool) -> tuple:
    """Everything the compiled function depends on: the rule and its domain as parsed (the
    trace), its defaults, and the converters that turn a default into the URL."""
    defaults = rule.defaults or {}
    return (
        rule.rule,
        tuple(rule._trace),
        tuple((name, type(value), repr(value)) for name, value in defaults.items()),
        tuple((name, type(converter), repr({key: value for key, value in vars(converter).items()
                                            if key != "map"}))
              for name, converter in rule._converters.items()),
        append_unknown,
    )


def _compile_builder_once(self: Rule, append_unknown: bool = True):
    key = _shape(self, append_unknown)
    builder = _compiled.get(key)
    if builder is None:
        builder = _compiled[key] = _compile(self, append_unknown)
    return builder


def reuse_compiled_url_builders() -> None:
    Rule._compile_builder = _compile_builder_once
