"""ARCHITECTURE.md: the domain and pure layers never import Flask."""

import subprocess
import sys

DOMAIN_MODULES = [
    "jesip_learn.users", "jesip_learn.organisations", "jesip_learn.permissions",
    "jesip_learn.passwords", "jesip_learn.throttle", "jesip_learn.audit", "jesip_learn.mail",
    "jesip_learn.models", "jesip_learn.db", "jesip_learn.config", "jesip_learn.courses",
    "jesip_learn.progress", "jesip_learn.attempts", "jesip_learn.runs", "jesip_learn.scoring",
    "jesip_learn.certificates", "jesip_learn.content", "jesip_learn.compliance",
    "jesip_learn.exports", "jesip_learn.bulk_import", "jesip_learn.demo",
    "jesip_learn.analysis", "jesip_learn.authoring", "jesip_learn.xapi.settings",
    "jesip_learn.xapi.statements", "jesip_learn.xapi.outbox", "jesip_learn.xapi.sender",
    "jesip_learn.report_rows", "jesip_learn.notifications.settings",
    "jesip_learn.notifications.preferences", "jesip_learn.notifications.planning",
    "jesip_learn.notifications.reports", "jesip_learn.notifications.notices",
    "jesip_learn.notifications.sender", "jesip_learn.notifications.messages",
    "jesip_learn.import_dates", "jesip_learn.command_line_imports",
    "jesip_learn.sso.models", "jesip_learn.sso.client_secrets", "jesip_learn.sso.protocol",
    "jesip_learn.sso.providers", "jesip_learn.sso.sign_in",
    "jesip_learn.jobs.schedule", "jesip_learn.jobs.leases", "jesip_learn.jobs.worker",
    "jesip_learn.jobs.catalogue",
]


def test_domain_modules_import_without_flask():
    code = (
        "import sys\n"
        f"for name in {DOMAIN_MODULES!r}: __import__(name)\n"
        "loaded = [m for m in ('flask', 'flask_login', 'flask_wtf') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
