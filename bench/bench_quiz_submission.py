"""Quiz submission under gunicorn (2 workers): completed submissions per second, as a share
of /healthz's requests per second on the same server in the same run.

One submission is what a learner's browser does: POST the quiz overview's start form, GET
the attempt page it redirects to, and POST "Submit answers" with an answer to every
question drawn (read from the page's radios, check boxes and position selects). Attempts
are per learner, so each client thread signs in as a learner of its own. The shipped
JESIP Awareness quiz allows any number of attempts. Each learner starts with years of
history (`support.give_history`) among thousands of others (`support.seed_histories`).
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    give_history,
    gunicorn_server,
    measure_throughput,
    prepared_database,
    run_cli,
    signed_in_cookie,
)

ROUNDS = 3
CLIENTS = 4
SECONDS = 4.0
MAX_SUBMISSIONS = 2_000  # per round, across all clients: the loop is bounded both ways
PASSWORD = "benchmark passphrase for learners"
OVERVIEW = "/learn/JESIP-AWARE/quizzes/check-your-understanding"
PREVIOUS_ATTEMPTS = 40  # each learner's at each quiz before the run, among seeded histories


@dataclass
class QuizForm:
    """The fields of the one POST form on a quiz page that a person would fill in."""

    action: str = ""
    csrf_token: str = ""
    choices: dict[str, list[str]] = field(default_factory=dict)  # radio/checkbox name: values
    selects: dict[str, list[str]] = field(default_factory=dict)  # select name: option values

    def answers(self) -> list[tuple[str, str]]:
        """A complete answer: the first option of each question; for an ordering question
        the positions 1, 2, 3... in the order the items are shown."""
        fields = [("csrf_token", self.csrf_token), ("action", "submit")]
        fields += [(name, values[0]) for name, values in self.choices.items()]
        by_question: dict[str, list[str]] = {}
        for name in self.selects:
            by_question.setdefault(name.split(".", 1)[0], []).append(name)
        for names in by_question.values():
            fields += [(name, str(position)) for position, name in enumerate(names, start=1)]
        return fields


class FormReader(HTMLParser):
    """Reads the POST forms of a page: each form's action, CSRF token and answer fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[QuizForm] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append(QuizForm(action=a.get("action", "")))
        elif not self.forms:
            return
        form = self.forms[-1]
        if tag == "input" and a.get("name") == "csrf_token":
            form.csrf_token = a.get("value", "")
        elif tag == "input" and a.get("type") in ("radio", "checkbox"):
            form.choices.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
            form.selects[self._select] = []
        elif tag == "option" and self._select and a.get("value"):
            form.selects[self._select].append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def read_forms(page: str) -> list[QuizForm]:
    reader = FormReader()
    reader.feed(page)
    return reader.forms


class Learner:
    """One signed-in learner on one keep-alive connection, keeping its session cookie."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        name, _, value = cookie.partition("=")
        self.cookies = {name: value}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, fields=None) -> tuple[int, str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            page = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":  # the session cookie changes as it goes
                name, _, cookie = value.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = cookie
        location = urllib.parse.urlsplit(response.getheader("Location") or "").path
        return response.status, location, page

    def start_form(self) -> QuizForm:
        status, _, page = self.request("GET", OVERVIEW)
        form = next((f for f in read_forms(page) if f.action.endswith("/start")), None)
        if status != 200 or form is None or not form.csrf_token:
            raise RuntimeError(f"no start form on the quiz overview (status {status})")
        return form

    def submit_once(self, start: QuizForm) -> bool:
        """Start (or continue) an attempt, read it and submit it; True when it was recorded."""
        status, attempt_path, _ = self.request("POST", start.action,
                                                [("csrf_token", start.csrf_token)])
        if status != 302 or "/attempts/" not in attempt_path:
            return False
        status, _, page = self.request("GET", attempt_path)
        form = next((f for f in read_forms(page) if f.action == attempt_path), None)
        if status != 200 or form is None or not (form.choices or form.selects):
            return False
        status, result_path, _ = self.request("POST", attempt_path, form.answers())
        return status == 302 and result_path.endswith("/result")

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Submissions:
    completed: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


def measure_submissions(learners: list[Learner], forms: list[QuizForm], *,
                        seconds: float = SECONDS,
                        max_submissions: int = MAX_SUBMISSIONS) -> Submissions:
    """Each learner's thread submits attempts one after another for `seconds`, stopping
    early at its share of `max_submissions`."""
    counts, failures = [0] * len(learners), [0] * len(learners)
    budget = max(1, max_submissions // len(learners))
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        while time.monotonic() < stop_at and counts[index] < budget:
            try:
                ok = learners[index].submit_once(forms[index])
            except (OSError, http.client.HTTPException):
                ok = False
            if ok:
                counts[index] += 1
            else:
                failures[index] += 1
                if failures[index] > 20:
                    return

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(learners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Submissions(sum(counts), time.monotonic() - started, sum(failures))


def main() -> None:
    emails = [f"quiz.learner{index}@kent.police.uk" for index in range(CLIENTS)]
    with prepared_database(histories=True) as env:
        for index, email in enumerate(emails):
            run_cli(env, "users", "create", "--email", email, "--name",
                    f"Quiz Learner {index}", "--organisation", "Kent Police", "--role",
                    "operational", "--password-stdin", stdin=PASSWORD + "\n")
            give_history(env["DATABASE_URL"], email, attempts=PREVIOUS_ATTEMPTS)
        with gunicorn_server(env) as port:
            learners = [Learner(port, signed_in_cookie(port, email, PASSWORD))
                        for email in emails]
            forms = [learner.start_form() for learner in learners]
            measure_throughput(port, "/healthz", seconds=1)  # warm both workers
            warm = measure_submissions(learners, forms, seconds=1)
            if warm.completed == 0:
                raise SystemExit("no quiz submission went through while warming up")
            ratios, rates = [], []
            for _ in range(ROUNDS):
                # Alternate the two so drift in the machine's load hits both alike.
                baseline = measure_throughput(port, "/healthz", clients=CLIENTS)
                quiz = measure_submissions(learners, forms)
                if baseline.failures or quiz.failures:
                    raise SystemExit(f"failures: {baseline.failures} baseline requests, "
                                     f"{quiz.failures} quiz submissions")
                ratios.append(quiz.per_second / baseline.per_second)
                rates.append((quiz.per_second, baseline.per_second))
            for learner in learners:
                learner.close()
    ratios.sort()
    print(f"quiz submissions (start + attempt page + submit, 10 questions) / minimal "
          f"endpoint requests (gunicorn, 2 workers, {CLIENTS} learners)")
    print(f"  ratio median {ratios[len(ratios) // 2]:.3f} over {ROUNDS} rounds "
          f"(each: {', '.join(f'{r:.3f}' for r in ratios)}; submissions/s vs /healthz/s: "
          + ", ".join(f"{q:.0f} vs {h:.0f}" for q, h in rates) + ")")


if __name__ == "__main__":
    main()
