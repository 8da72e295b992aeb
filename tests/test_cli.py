"""The command line: users create, setup-link, organisations seed."""

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from tests.support.factories import PASSWORD


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_users_create_reads_the_password_from_stdin(runner, organisation, session):
    result = runner.invoke(args=[
        "users", "create", "--email", "Chief@Northshire.police.uk", "--name", "Chris Chief",
        "--organisation", "Northshire Police", "--role", "strategic", "--permission", "admin",
        "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created chief@northshire.police.uk (admin, learner)" in result.output
    user = session.scalar(select(User).where(User.email == "chief@northshire.police.uk"))
    assert user.is_admin and user.can_sign_in and user.command_role == "strategic"


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--organisation", "Nowhere Constabulary"], PASSWORD, "No organisation is called"),
    ([], "weak\n", "Password must be 12 characters or more"),
    (["--email", "broken"], PASSWORD, "correct format"),
])
def test_users_create_explains_what_is_wrong(runner, organisation, session, args, stdin, message):
    base = {"--email": "c@northshire.police.uk", "--name": "C", "--organisation":
            "Northshire Police"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["users", "create", "--password-stdin"]
    for flag, value in base.items():
        argv += [flag, value]
    result = runner.invoke(args=argv, input=stdin)
    assert result.exit_code == 1 and message in result.output
    assert session.scalar(select(User)) is None


def test_setup_link_is_printed_only_while_there_is_no_administrator(runner, make, organisation):
    result = runner.invoke(args=["users", "setup-link"])
    assert "http://jesip.test/setup/" in result.output  # under SITE_URL
    result = runner.invoke(args=["users", "setup-link", "--base-url", "http://127.0.0.1:5000/"])
    assert "http://127.0.0.1:5000/setup/" in result.output
    make.user(organisation=organisation, permissions={"admin"})
    result = runner.invoke(args=["users", "setup-link"])
    assert "has an administrator already" in result.output and "/setup/" not in result.output
