"""Every area's error about what someone typed derives from core's `InputError`, so that the
request edge can answer one that no view catches with its 400 page (ARCHITECTURE.md, "The
request edge"). The exceptions are found by walking the package: a new one is either an
input error or listed below with why it is not."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import jesip_learn
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.refusals import Refusal

# Exceptions that are not about what someone typed, each with what it is instead.
NOT_INPUT_ERRORS = {
    "jesip_learn.core.config.ConfigError":
        "a setting in the environment: the site does not start",
    "jesip_learn.jobs.catalogue.JobSettingsError": "a setting in the environment",
    "jesip_learn.xapi.settings.XapiSettingsError": "a setting in the environment",
    "jesip_learn.notifications.settings.NotificationSettingsError":
        "a setting in the environment",
    "jesip_learn.core.mail.MailDeliveryError": "the mail server failed",
    "jesip_learn.core.mail.UnsendableMail": "a message the site wrote cannot be sent",
    "jesip_learn.core.exports.xlsx_writer.ExportTooLarge":
        "raised while a download streams, once its response has begun",
    "jesip_learn.accounts.email_requests.TooManyEmails":
        "a limit on how often, whatever was typed; the page says how long to wait",
    "jesip_learn.exercises.live.sessions.TooManyWrongCodes":
        "a limit on how often, whatever was typed; the page says how long to wait",
    "jesip_learn.learning.attempts.AttemptRefused":
        "the learner's standing (no attempt left), not what they sent",
    "jesip_learn.imports.bulk.AlreadyApplied":
        "the import's state since it was checked; the view chooses the words",
    "jesip_learn.imports.bulk.BatchExpired":
        "the import's state since it was checked; the view chooses the words",
    "jesip_learn.imports.bulk.PlanChanged":
        "the import's state since it was checked; the view chooses the words",
    "jesip_learn.courses.catalogue.ImportRefused":
        "a course folder's problems, for the import command; publishing turns them into "
        "PublishRefused",
    "jesip_learn.courses.packaging.build.PackageRefused":
        "no such course, format or playable item: the download answers 404, the command "
        "prints it",
    "jesip_learn.sso.protocol.AnswerRefused":
        "the identity provider's answer, not the person's; its reason is for the log",
    "jesip_learn.sso.protocol.ProviderUnavailable": "the identity provider is out of reach",
    "jesip_learn.sso.client_secrets.SecretUnavailable":
        "the site's key cannot decrypt a client secret, or there is no key",
    "jesip_learn.sso.sign_in.SignInProblem":
        "carries its own status and title, which the sign-in views show as its page",
    "jesip_learn.content.archive.ArchiveError":
        "content/ imports nothing outside content/; authoring turns it into UploadRefused",
    "jesip_learn.content.gift.GiftRefused":
        "content/ imports nothing outside content/; authoring turns it into an "
        "AuthoringError",
    "jesip_learn.content.gift._Skip": "never leaves its module",
    "jesip_learn.content.frontmatter._AliasRefused": "never leaves its module",
    "jesip_learn.content.worker._WorkerFailed": "never leaves its module",
    "jesip_learn.cli.imports.ImporterError": "a command's argument; the command prints it",
    "jesip_learn.cli.demo_data.DemoRefused": "the command prints it",
}

# Found by the walk, so that a walk that found nothing cannot pass.
KNOWN_INPUT_ERRORS = {
    "jesip_learn.accounts.details.AccountError",
    "jesip_learn.exercises.recorded.ExerciseError",
    "jesip_learn.exercises.live.log.LiveError",
    "jesip_learn.courses.authoring.errors.AuthoringError",
}


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined at the top of a module of the package, by its full
    name. Migrations are left out: `migrations/env.py` runs only under Alembic."""
    found = {}
    for module_info in pkgutil.walk_packages(jesip_learn.__path__, "jesip_learn."):
        if module_info.name.startswith("jesip_learn.migrations"):
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


@pytest.fixture(scope="module")
def exceptions() -> dict[str, type[BaseException]]:
    return defined_exceptions()


def test_every_error_about_what_was_typed_is_an_input_error(exceptions):
    assert sorted(KNOWN_INPUT_ERRORS - exceptions.keys()) == []
    forgotten = sorted(
        name for name, error in exceptions.items()
        if not issubclass(error, InputError | Refusal) and name not in NOT_INPUT_ERRORS)
    assert forgotten == [], (
        "derive these from jesip_learn.core.input_errors.InputError, or list them in "
        "NOT_INPUT_ERRORS with what they are instead")


def test_the_list_of_other_errors_is_true(exceptions):
    """Every name listed exists and is still not an input error."""
    assert sorted(NOT_INPUT_ERRORS.keys() - exceptions.keys()) == []
    assert sorted(name for name in NOT_INPUT_ERRORS
                  if issubclass(exceptions[name], InputError)) == []


def test_input_errors_are_still_what_callers_catch(exceptions):
    """Their names, messages and the ValueError many `except` clauses name are unchanged."""
    from jesip_learn.accounts.details import AccountError
    from jesip_learn.courses import authoring
    from jesip_learn.learning.allowances import GrantRefused

    error = AccountError("email", "Enter your email address")
    assert isinstance(error, ValueError)
    assert (error.field, error.message, str(error)) == ("email", "Enter your email address",
                                                        "Enter your email address")
    assert GrantRefused("This quiz has no limit on attempts.").message == \
        "This quiz has no limit on attempts."
    refused = authoring.NotAllowed("You can't edit DEMO101.")
    assert isinstance(refused, authoring.AuthoringError) and isinstance(refused, Refusal)
    assert refused.message == "You can't edit DEMO101."
