"""jesip_learn.content is the pure layer: importing it pulls in no web framework and no
database code (ARCHITECTURE.md), so the CLI, importer and tests can use it on their own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "flask_login", "flask_wtf", "werkzeug", "jinja2", "sqlalchemy", "alembic"}

PROBE = """
import json, sys
import jesip_learn.content
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_content_loads_no_flask_no_sqlalchemy():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(completed.stdout))
    assert {"markdown", "nh3", "yaml"} <= loaded  # the probe really imported the package
    assert not FORBIDDEN & loaded
