"""The end of a "not found" message: the nearest name that does exist, and the names there
are (" (did you mean #late? The steps: #first-call, #late and #rescue)").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

MAX_NAMES_LISTED = 10  # in a message listing what does exist


def listed_names(names: Sequence[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"; past MAX_NAMES_LISTED, "and N more"."""
    shown = list(names[:MAX_NAMES_LISTED])
    rest = len(names) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def close_match(wanted: str, names: Iterable[str]) -> str | None:
    """The name most like `wanted`, if one is like it. Paths are compared by their file
    names without folder or ending: images/cordn.png is like images/cordon.png, but
    files/notes.pdf is not like files/guide.pdf."""
    by_stem: dict[str, str] = {}
    for name in names:
        by_stem.setdefault(_stem(name), name)
    matches = difflib.get_close_matches(_stem(wanted), list(by_stem), n=1, cutoff=0.6)
    return by_stem[matches[0]] if matches else None


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base[1:] else base


def what_exists(wanted: str, names: Sequence[str], label: str, none: str, *,
                prefix: str = "") -> str:
    """The end of a "not found" message: the nearest name that does exist, and the names
    there are: " (did you mean #late? The steps: #first-call, #late and #rescue)"."""
    if not names:
        return f" ({none})"
    ordered = sorted(names)
    near = close_match(wanted, ordered)
    listed = f"{label}: {listed_names([prefix + name for name in ordered])}"
    if near is None:
        return f" ({listed})"
    if ordered == [near]:
        return f" (did you mean {prefix}{near}?)"
    return f" (did you mean {prefix}{near}? {listed[0].upper()}{listed[1:]})"
