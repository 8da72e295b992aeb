"""A message that cannot be built is refused, saying why, the same way by every backend:
an UnsendableMail, which the senders count as this one message failing (it is a
MailDeliveryError), never an exception that stops the emails after it."""

from __future__ import annotations

import socket

import pytest

from jesip_learn.core.mail import MailDeliveryError, Mailer, OutgoingMail, UnsendableMail


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


BACKENDS = [{"MAIL_BACKEND": "memory"}, {"MAIL_BACKEND": "log"},
            {"MAIL_BACKEND": "console"},
            {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": _closed_port(),
             "MAIL_FROM": "JESIP Learn <no-reply@learn.example>"}]
BAD = [
    (OutgoingMail(to="sam@example.org", subject="Awareness\r\nBcc: all@example.org",
                  text="Hello"), "the Subject header holds a control character (U+000D)"),
    (OutgoingMail(to="sam@example.org\nBcc: all@example.org", subject="Hi", text="Hello"),
     "the To header holds a control character (U+000A)"),
    (OutgoingMail(to="sam@example.org", subject="Hi\x00", text="Hello"),
     "the Subject header holds a control character (U+0000)"),
    (OutgoingMail(to="sam@example.org", subject="Hi", text="Hello",
                  headers=(("List-Unsubscribe", "<https://x>\r\nBcc: all@example.org"),)),
     "the List-Unsubscribe header holds a control character (U+000D)"),
    (OutgoingMail(to="sam@example.org", subject="Hi", text="Broken \udc80 text"),
     "'utf-8' codec can't encode character '\\udc80' in position 7: surrogates not allowed"),
    (OutgoingMail(to="sam@example.org", subject="Awareness\u2028Bcc: all@example.org",
                  text="Hello"), "Header values may not contain linefeed or carriage return "
     "characters"),
]


@pytest.mark.parametrize("settings", BACKENDS, ids=lambda s: s["MAIL_BACKEND"])
@pytest.mark.parametrize(("mail", "reason"), BAD, ids=range(len(BAD)))
def test_every_backend_refuses_a_message_that_cannot_be_built(settings, mail, reason,
                                                              capsys):
    mailer = Mailer(settings)
    with pytest.raises(UnsendableMail) as refused:
        mailer.send(mail)
    assert str(refused.value) == f"The email could not be built: {reason}"
    assert isinstance(refused.value, MailDeliveryError)
    assert mailer.outbox == [] and "Bcc" not in capsys.readouterr().err


def test_names_in_any_script_are_sent():
    mailer = Mailer({"MAIL_BACKEND": "memory"})
    mail = OutgoingMail(to="zoe@example.org", subject="Zoë Ångström’s course: 王芳",
                        text="Siân\tO’Brien\r\nnext line", html="<p>Siân</p>")
    mailer.send(mail)
    assert mailer.outbox == [mail]
    assert mailer.message(mail)["Subject"] == "Zoë Ångström’s course: 王芳"


def test_a_server_that_is_down_is_a_delivery_error_not_an_unsendable_message():
    mailer = Mailer(BACKENDS[-1])
    with pytest.raises(MailDeliveryError) as failed:
        mailer.send(OutgoingMail(to="sam@example.org", subject="Hi", text="Hello"))
    assert not isinstance(failed.value, UnsendableMail)
