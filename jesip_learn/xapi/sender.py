"""Posting the outbox to the learning record store (`flask --app app xapi send`).

Each round claims a batch in a short transaction of its own and commits the claim before
posting, so the database is never held open while the store answers; the outcome is
written in a second short transaction. That is why this, unlike the rest of the domain,
takes the `Database` and commits.

What the store's answer means:
- 2xx: every statement of the batch is stored (a statement it already had, sent again after
  an answer was lost, is accepted as the same statement, because its id is the same).
- 400, 409, 413 and 422 for a batch: the store refused the batch as a whole (xAPI batches
  are all or nothing). It is split in two and each half sent, down to single statements,
  so the good ones still go; a single statement refused with 400, 413 or 422 is
  `rejected` with the store's reason. 409 for a single statement means the store already
  has a statement with that id: ours, from an earlier send whose answer was lost, since
  the id is a random UUID that only this statement has, so it counts as sent.
- any other answer, or none (refused connection, timeout): the store is down or refuses
  us (401, 403, 404 and 429 are about the store or our settings, not the statements);
  the batch stays queued and is tried again after a wait that doubles each time, and the
  round stops. A 5xx for a batch of several is first checked with its oldest statement
  alone: some stores fail a whole batch for one statement in it.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.xapi import outbox
from jesip_learn.xapi.models import XapiStatement
from jesip_learn.xapi.settings import XapiSettings
from jesip_learn.xapi.statements import XAPI_VERSION

log = logging.getLogger("jesip_learn.xapi")

BATCH_REFUSALS = {400, 409, 413, 422}  # about the statements sent: split the batch
STATEMENT_REFUSALS = {400, 413, 422}  # a single statement the store will not take


@dataclass(frozen=True, slots=True)
class LrsAnswer:
    status: int | None  # None: no answer at all
    detail: str = ""

    @property
    def stored(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is None:
            return f"No answer from the learning record store: {self.detail}"
        return f"The learning record store answered {self.status}: {self.detail}".rstrip(": ")


Post = Callable[[Sequence[dict]], LrsAnswer]


class LrsClient:
    """POST /statements with basic authentication, by the standard library."""

    def __init__(self, settings: XapiSettings):
        self.settings = settings

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Experience-API-Version": XAPI_VERSION}
        if self.settings.username or self.settings.password:
            pair = f"{self.settings.username}:{self.settings.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    def post(self, statements: Sequence[dict]) -> LrsAnswer:
        request = urllib.request.Request(  # noqa: S310 - the address is the site's setting
            self.settings.statements_url, data=json.dumps(list(statements)).encode(),
            headers=self.headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as answer:  # noqa: S310
                return LrsAnswer(answer.status)
        except urllib.error.HTTPError as error:
            return LrsAnswer(error.code, _body(error))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            return LrsAnswer(None, str(getattr(error, "reason", error)))


def _body(error: urllib.error.HTTPError) -> str:
    try:
        text = error.read(outbox.ERROR_CHARACTERS * 2).decode("utf-8", "replace")
    except OSError:
        text = ""
    return " ".join(text.split()) or error.reason or ""


# --- one batch ---------------------------------------------------------------------------


@dataclass
class Delivery:
    """What became of a batch: row ids stored; refused, with the store's reason; and not
    sent this time, with why. `failure` is set when the store could not be reached."""

    sent: list[int] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)
    unsent: dict[int, str] = field(default_factory=dict)
    failure: str = ""
    store_up: bool = False  # the store has taken something in this delivery

    def store(self, rows: Sequence[tuple[int, dict]]) -> None:
        self.sent.extend(row_id for row_id, _ in rows)
        self.store_up = True

    def give_up(self, rows: Sequence[tuple[int, dict]], reason: str) -> None:
        self.unsent.update((row_id, reason) for row_id, _ in rows)


def deliver(post: Post, rows: Sequence[tuple[int, dict]]) -> Delivery:
    delivery = Delivery()
    _deliver(post, list(rows), delivery)
    return delivery


def _deliver(post: Post, rows: list[tuple[int, dict]], delivery: Delivery) -> None:
    if not rows:
        return
    if delivery.failure:  # the store is down: leave the rest for the next try
        delivery.give_up(rows, delivery.failure)
        return
    answer = post([statement for _, statement in rows])
    single = len(rows) == 1
    if answer.stored:
        delivery.store(rows)
    elif single and answer.status == 409:
        delivery.store(rows)  # the store has it already: see the module's text
    elif single and answer.status in STATEMENT_REFUSALS:
        delivery.rejected[rows[0][0]] = answer.describe()
    elif not single and (answer.status in BATCH_REFUSALS
                         or (answer.status or 0) >= 500 and _stores_one(post, rows[0],
                                                                         delivery)):
        middle = len(rows) // 2
        _deliver(post, rows[:middle], delivery)
        _deliver(post, rows[middle:], delivery)
    elif single and delivery.store_up and (answer.status or 0) >= 500:
        delivery.give_up(rows, answer.describe())  # only this one fails: the rest go on
    else:
        delivery.failure = answer.describe()
        delivery.give_up(rows, delivery.failure)


def _stores_one(post: Post, row: tuple[int, dict], delivery: Delivery) -> bool:
    """Whether the store is up: it takes the statement alone (sending it again later, in a
    half, is the same statement)."""
    if post([row[1]]).stored:
        delivery.store_up = True
        return True
    return False


# --- rounds ------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    rejected: int = 0
    failure: str = ""  # why the last round stopped early, if it did
    batches: int = 0

    def describe(self) -> str:
        text = (f"xAPI: {self.sent} statement{'s' if self.sent != 1 else ''} sent, "
                f"{self.rejected} rejected")
        return f"{text}; stopped: {self.failure}" if self.failure else text


def send_pending(database: Database, settings: XapiSettings, *, post: Post | None = None,
                 now: Callable[[], datetime] = utcnow, max_batches: int | None = None
                 ) -> SendReport:
    """Send every due statement, a batch at a time, until none is due or the store fails."""
    if not settings.enabled:
        raise ValueError("XAPI_ENDPOINT is not set: there is no learning record store to "
                         "send to")
    post = post or LrsClient(settings).post
    report = SendReport()
    while max_batches is None or report.batches < max_batches:
        claimant = outbox.new_claimant()
        with database.write_session() as session:
            claimed = [(row.id, row.statement) for row in outbox.claim(
                session, claimant, settings.batch_size, settings.lease_seconds, now())]
        if not claimed:
            break
        report.batches += 1
        delivery = deliver(post, claimed)
        with database.write_session() as session:
            _settle(session, claimant, delivery, settings, now())
        report.sent += len(delivery.sent)
        report.rejected += len(delivery.rejected)
        if delivery.failure:
            report.failure = delivery.failure
            log.warning("xAPI: %d statements wait for the next try: %s",
                        len(delivery.unsent), delivery.failure)
            break
    with database.write_session() as session:
        outbox.prune_sent(session, settings.keep_sent_days, now())
    return report


def _settle(session, claimant: str, delivery: Delivery, settings: XapiSettings,
            now: datetime) -> None:
    outbox.mark_sent(session, claimant, delivery.sent, now)
    for row_id, reason in delivery.rejected.items():
        outbox.mark_rejected(session, claimant, row_id, reason)
        log.warning("xAPI: statement %s rejected: %s",
                    session.get(XapiStatement, row_id).statement_id, reason)
    by_reason: dict[str, list[int]] = {}
    for row_id, reason in delivery.unsent.items():
        by_reason.setdefault(reason, []).append(row_id)
    for reason, ids in by_reason.items():
        outbox.mark_failed(session, claimant, ids, reason, settings, now)
