"""Behind a reverse proxy the audit log records the person's address, never a forged one."""

from __future__ import annotations

from sqlalchemy import select

from jesip_learn.factory import create_app
from jesip_learn.records.models import AuditEvent
from tests.support.web import Browser, app_settings


def failed_sign_in_address(transactional_db, tmp_path, session, **settings) -> str:
    app = create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path, **settings))
    client = app.test_client()
    token = Browser(client).get("/sign-in").csrf_token()
    client.post("/sign-in", data={"csrf_token": token, "email": "nobody@example.org",
                                  "password": "not the password"},
                headers={"X-Forwarded-For": "203.0.113.9"},
                environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return session.scalar(select(AuditEvent.address).where(AuditEvent.action == "sign_in.failed")
                          .order_by(AuditEvent.id.desc()).limit(1))


def test_with_one_proxy_the_forwarded_address_is_recorded(transactional_db, tmp_path, session):
    assert failed_sign_in_address(transactional_db, tmp_path, session,
                                  PROXY_HOPS=1) == "203.0.113.9"


def test_without_a_proxy_a_forwarded_header_is_ignored(transactional_db, tmp_path, session):
    assert failed_sign_in_address(transactional_db, tmp_path, session) == "10.0.0.2"
