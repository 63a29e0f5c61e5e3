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
