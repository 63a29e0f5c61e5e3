"""The lock that keeps two scoring runs from interleaving. It dies with its holder, however the holder dies.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) taken on the run's own database
  connection, the one that then writes the scores. PostgreSQL releases it when that session ends: the run
  finishing, its worker killed (SIGKILL, a lost machine: the server ends the session once the connection is
  gone) or its connection cut. There is no lease that could run out under a slow live run, nothing in
  Redis, and a run that lost its lock with its connection cannot write anything more on that connection.
  It needs a direct connection (or a pooler in session mode): a transaction-mode pooler would share the
  session, and so the lock, between clients.
- SQLite (the embedded mode, which has no advisory locks): an exclusive ``flock`` on a file beside the
  database, released by the operating system when the holding process ends. An in-memory database
  belongs to one process, so a process-local lock serves there (and where ``fcntl`` does not exist).

A run of many quarters fanned out across the workers (``assessments.services.fanout``) takes, for each
part, the same lock in *shared* mode plus an exclusive lock of its quarter (``quarters_lock``): the parts
of one run, and of runs of other quarters, go in parallel, two runs of one quarter take turns, and a run
executed in one piece (which holds the lock exclusively) still never interleaves with any part.

The lock is not re-entrant: a second attempt from the thread (the session) that holds it is refused as any
other. A run marked running while the lock is free has lost its worker: see
``assessments.services.runs.assessment_runs_resend_waiting``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time

from django.db import DatabaseError, connection

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None

LOCK_NAME = "assessments-scoring"
# The advisory lock's key: a constant 64-bit number of our own (advisory locks are per database).
ADVISORY_KEY = int.from_bytes(
    hashlib.sha256(f"engagement-tracker:{LOCK_NAME}".encode()).digest()[:8], "big", signed=True
)
POLL_SECONDS = 0.2

logger = logging.getLogger(__name__)


class ScoringBusy(Exception):
    """Another run holds the scoring lock."""


class QuarterBusy(ScoringBusy):
    """Another run is writing one of these quarters (or a run holds the scoring lock exclusively)."""


# The namespace of the quarter locks: pg_advisory_lock(int, int) keys, a key space apart from the bigint one.
QUARTER_NAMESPACE = int.from_bytes(
    hashlib.sha256(b"engagement-tracker:assessments-quarter").digest()[:4], "big", signed=True
)


def _poll(try_once, wait: float) -> None:
    """Call ``try_once`` until it takes the lock; ScoringBusy once ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    while not try_once():
        if time.monotonic() >= deadline:
            raise ScoringBusy
        time.sleep(POLL_SECONDS)


def _advisory_query(sql: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, [ADVISORY_KEY])
        return bool(cursor.fetchone()[0])


@contextlib.contextmanager
def _advisory_lock(wait: float):
    if getattr(connection, "scoring_lock_held", False):
        raise ScoringBusy  # this session holds it: PostgreSQL would grant it again, we do not
    _poll(lambda: _advisory_query("SELECT pg_try_advisory_lock(%s)"), wait)
    connection.scoring_lock_held = True
    try:
        yield
    finally:
        connection.scoring_lock_held = False
        _advisory_release()


def _advisory_release() -> None:
    """Release the lock on the session that took it. A session that has gone took the lock with it (and a
    new one answers false); one that cannot release it is closed, so that the lock never outlives the run."""
    if connection.connection is None:
        return
    try:
        _advisory_query("SELECT pg_advisory_unlock(%s)")
    except DatabaseError:
        logger.warning("Could not release the scoring lock; closing its database session.", exc_info=True)
        if not connection.in_atomic_block:
            connection.close()


def _quarter_key(quarter) -> int:
    return quarter.year * 4 + quarter.number - 1


@contextlib.contextmanager
def quarters_lock(quarters, *, wait: float = 30.0):
    """Hold the scoring lock shared and each of ``quarters`` exclusively (ascending, so that two holders of
    overlapping sets cannot wait for each other); QuarterBusy after ``wait`` seconds. PostgreSQL only: the
    fan-out that uses it needs a broker and PostgreSQL (embedded mode runs a run in one piece)."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("quarter locks need PostgreSQL advisory locks")
    if getattr(connection, "scoring_lock_held", False):
        raise QuarterBusy
    deadline = time.monotonic() + wait
    keys = sorted({_quarter_key(q) for q in quarters})
    shared, taken = False, []

    def remaining() -> float:
        return max(0.0, deadline - time.monotonic())

    try:
        try:
            _poll(lambda: _advisory_query("SELECT pg_try_advisory_lock_shared(%s)"), remaining())
            shared = True
            for key in keys:
                _poll(lambda key=key: _quarter_query("SELECT pg_try_advisory_lock(%s, %s)", key), remaining())
                taken.append(key)
        except ScoringBusy:
            raise QuarterBusy from None
        connection.scoring_lock_held = True
        yield
    finally:
        connection.scoring_lock_held = False
        _quarters_release(shared, taken)


def _quarter_query(sql: str, key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, [QUARTER_NAMESPACE, key])
        return bool(cursor.fetchone()[0])


def _quarters_release(shared: bool, keys: list[int]) -> None:
    if connection.connection is None:
        return
    try:
        for key in reversed(keys):
            _quarter_query("SELECT pg_advisory_unlock(%s, %s)", key)
        if shared:
            _advisory_query("SELECT pg_advisory_unlock_shared(%s)")
    except DatabaseError:
        logger.warning("Could not release the quarter locks; closing their database session.", exc_info=True)
        if not connection.in_atomic_block:
            connection.close()


_process_lock = threading.Lock()


@contextlib.contextmanager
def _local_lock(wait: float):
    if not (_process_lock.acquire(timeout=wait) if wait > 0 else _process_lock.acquire(blocking=False)):
        raise ScoringBusy
    try:
        yield
    finally:
        _process_lock.release()


@contextlib.contextmanager
def _file_lock(path: str, wait: float):
    # Each attempt opens the file anew: flock() then refuses a second holder in this process too.
    with open(path, "a") as handle:  # noqa: PTH123

        def try_once() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _poll(try_once, wait)
        yield  # closing the file (or the process ending) releases it


def scoring_lock(*, wait: float = 30.0):
    """Hold the scoring lock for the block; raise ScoringBusy if it stays taken for ``wait`` seconds."""
    if connection.vendor == "postgresql":
        return _advisory_lock(wait)
    if fcntl is None or connection.is_in_memory_db():
        return _local_lock(wait)
    return _file_lock(f"{connection.settings_dict['NAME']}.scoring-lock", wait)
