"""Reporting learning to a learning record store as xAPI 1.0.3 statements.

`statements` builds them from the domain's objects (pure); `outbox` writes each one in the
transaction of the learning it records and keeps track of sending it; `sender` posts them
to the store over HTTP. `settings` reads the site's XAPI_* settings.
"""
