"""Parsing a course in a worker process, within a time limit.

reading_cost.py refuses at once the inputs known to make Python-Markdown slow. This bounds
whatever it misses: `parse_within` parses in a separate process and kills it when the time
is up, and the course gets one problem at the page and line the worker had reached, saying
it took too long to read.

Why a process, and not the thread that asks or a thread pool: a Python thread can't be
stopped from outside, so a thread given a hostile page would go on burning a CPU after the
request gave up on it; `signal.alarm` works only in a process's main thread (the
development server answers in other threads), and it is not delivered while C code runs
(a long regular-expression match in the HTML parser). A process can be killed whatever it
is doing, and its CPU time ends with it. `concurrent.futures.ProcessPoolExecutor` can't
cancel a task that has started, so one process per parse, killed at the deadline. Its CPU
is also capped by the kernel (RLIMIT_CPU), so that it ends even if the web process that
started it is killed first.

The processes come from a fork server: a small single-threaded process, started on the
first parse, that has imported the parser already, so each worker starts in milliseconds.
Forking the web process itself could copy a lock held by one of its other threads into a
child that would then wait for it for ever.

A time-out is remembered for a minute (by the content of the files), so that the preview
shown beside a refused save, or a page reloaded at once, does not spend the time again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from jesip_learn.content.files import ALLOWED_FILE_TYPES, COURSE_PAGE, suffix_of
from jesip_learn.content.hashing import content_hash
from jesip_learn.content.model import Course, ParseResult, Problem, Requirement
from jesip_learn.content.parse import accepted_sources, parse_sources
from jesip_learn.content.problem_log import ProblemLog
from jesip_learn.content.render import FileUrls

logger = logging.getLogger(__name__)

DEFAULT_SECONDS = 15.0
REMEMBER_TIME_OUTS_SECONDS = 60.0
REMEMBERED_TIME_OUTS = 32

_start_lock = threading.Lock()
_context = None  # the fork server's context, made on the first parse


def parse_within(
    files: Mapping[str, bytes],
    *,
    seconds: float = DEFAULT_SECONDS,
    display_root: str = "",
    resolve_file: FileUrls | None = None,
) -> ParseResult:
    """`parse_course_files` in a worker process, given at most `seconds`.

    `resolve_file` must be a FileUrls (plain data: it goes to the worker). With `seconds`
    of 0 or less the course is parsed in this process, without a time limit. A worker that
    runs out of time, or can't be started, gives a result with `timed_out` set and one
    problem saying so; nothing here raises on any content.
    """
    if resolve_file is not None and not isinstance(resolve_file, FileUrls):
        raise TypeError("resolve_file must be a FileUrls: it is sent to the parsing worker")
    log = ProblemLog(display_root)
    sources = dict(sorted(accepted_sources(files, log).items()))
    if seconds <= 0:
        return parse_sources(sources, log, resolve_file)
    key = _key(sources)
    remembered = _time_outs.get(key)
    if remembered is not None:
        return _refused(sources, display_root, _too_slow(seconds), *remembered)
    try:
        outcome = _run(sources, log, resolve_file, seconds)
    except _WorkerFailed as failure:
        logger.error("A course could not be parsed: %s", failure)
        return _refused(sources, display_root, UNAVAILABLE, COURSE_PAGE, 1)
    if isinstance(outcome, tuple):
        _time_outs.put(key, outcome)
        return _refused(sources, display_root, _too_slow(seconds), *outcome)
    return ParseResult(sources=MappingProxyType(sources), **outcome)


UNAVAILABLE = ("the course could not be checked just now (its checking process did not "
               "start): try again in a minute")


def _too_slow(seconds: float) -> str:
    return (f"reading this page took longer than {seconds:g} seconds, so the course could "
            "not be checked: make the text from this line simpler or shorter, or split the "
            "page")


class _WorkerFailed(Exception):
    """The worker could not be started, or failed without an answer."""


def _run(sources: dict[str, bytes], log: ProblemLog, resolve_file: FileUrls | None,
         seconds: float) -> dict | tuple[str, int]:
    """The worker's result (as ParseResult fields, without the files), or the (path, line)
    it had reached when the time ran out."""
    context = _fork_server()
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_work, args=(sending, sources, log, resolve_file, seconds),
                               daemon=True, name="jesip-learn-parse")
    deadline = time.monotonic() + seconds
    where = (COURSE_PAGE, 1)
    started = False
    try:
        process.start()
        started = True
        sending.close()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not receiving.poll(remaining):
                break
            message = _receive(receiving)
            if message is None:
                break  # killed by the kernel's CPU limit before the clock's deadline
            if message[0] == "done":
                return message[1]
            if message[0] == "failed":
                raise _WorkerFailed(message[1])
            where = message[1:]
        _stop(process)
        while (message := _receive(receiving, wait=False)) is not None:
            if message[0] == "done":
                return message[1]  # finished as the time ran out
            if message[0] == "at":
                where = message[1:]
        return where
    except OSError as error:
        raise _WorkerFailed(f"the parsing worker could not be started: {error}") from error
    finally:
        if started:
            _stop(process)
            process.close()
        else:
            sending.close()
        receiving.close()


def _receive(connection, *, wait: bool = True):
    """The next message, or None when the worker has gone (or, not waiting, sent nothing
    more)."""
    try:
        if not wait and not connection.poll(0):
            return None
        return connection.recv()
    except (EOFError, OSError):
        return None


def _stop(process) -> None:
    if process.is_alive():
        process.kill()
    process.join()


def _fork_server():
    """The fork server's context; it imports the parser before it forks the first worker
    (and the main module, as it does by default, so that workers need not)."""
    global _context
    with _start_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["__main__", __name__])
            _context = context
        return _context


def _work(connection, sources: dict[str, bytes], log: ProblemLog,
          resolve_file: FileUrls | None, seconds: float) -> None:
    """The worker: parse, telling the parent where it is, then send the result."""
    _limit_cpu(seconds)
    last = [None]

    def report(path: str, line: int) -> None:
        if last[0] != (path, line):
            last[0] = (path, line)
            connection.send(("at", path, line))

    try:
        result = parse_sources(sources, log, resolve_file, report)
        connection.send(("done", {
            "course": result.course, "problems": result.problems,
            "content_hash": result.content_hash, "draft": result.draft,
            "file_urls": result.file_urls, "warnings": result.warnings}))
    except Exception as error:  # noqa: BLE001 - the parent reports it
        connection.send(("failed", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


def _limit_cpu(seconds: float) -> None:
    try:
        import resource  # POSIX only, as is the fork server
    except ImportError:  # pragma: no cover
        return
    soft = math.ceil(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))


def _refused(sources: dict[str, bytes], display_root: str, message: str, path: str,
             line: int) -> ParseResult:
    """A result that could not be finished: one problem, and an empty draft."""
    course_hash = content_hash(sources)
    draft = Course(code="", title="", summary="", minutes=None, validity_months=None,
                   required_for=Requirement(), overview_markdown="", overview_html="",
                   items=(), content_hash=course_hash,
                   files=tuple(p for p in sources if suffix_of(p) in ALLOWED_FILE_TYPES))
    return ParseResult(course=None, problems=(Problem(path, line, message, display_root),),
                       sources=MappingProxyType(sources), content_hash=course_hash,
                       draft=draft, timed_out=True)


def _key(sources: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path, data in sources.items():
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@dataclass
class _TimeOuts:
    """Recent time-outs by the content of the files: (path, line) reached."""

    kept: int
    seconds: float

    def __post_init__(self) -> None:
        self._found: OrderedDict[str, tuple[float, tuple[str, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, int] | None:
        with self._lock:
            found = self._found.get(key)
            if found is None or found[0] < time.monotonic():
                self._found.pop(key, None)
                return None
            return found[1]

    def put(self, key: str, where: tuple[str, int]) -> None:
        with self._lock:
            self._found[key] = (time.monotonic() + self.seconds, where)
            self._found.move_to_end(key)
            while len(self._found) > self.kept:
                self._found.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


_time_outs = _TimeOuts(REMEMBERED_TIME_OUTS, REMEMBER_TIME_OUTS_SECONDS)
