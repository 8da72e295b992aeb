"""ARCHITECTURE.md: the domain and pure layers never import Flask."""

import pkgutil
import subprocess
import sys

import jesip_learn

# The request edge and the command line take Flask's requests and commands; the rest of the
# package takes plain values.
EDGE_PREFIXES = ("jesip_learn.web", "jesip_learn.cli", "jesip_learn.factory",
                 "jesip_learn.migrations")


def domain_modules() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(jesip_learn.__path__, "jesip_learn."):
        if module.name.startswith(EDGE_PREFIXES):
            continue
        names.append(module.name)
    return sorted(names)


def test_every_area_is_found():
    names = domain_modules()
    for area in ("accounts", "courses", "learning", "compliance", "exercises", "records",
                 "imports", "notifications", "xapi", "sso", "jobs", "core", "content"):
        assert any(name.startswith(f"jesip_learn.{area}.") for name in names), area
    assert "jesip_learn.exercises.live.sessions" in names
    assert "jesip_learn.web.edge" not in names


def test_domain_modules_import_without_flask():
    code = (
        "import sys\n"
        f"for name in {domain_modules()!r}: __import__(name)\n"
        "loaded = [m for m in ('flask', 'flask_login', 'flask_wtf') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
