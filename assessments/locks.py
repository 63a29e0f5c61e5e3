"""The lock that keeps two scoring runs from interleaving: Redis when configured, the database otherwise.

Both are leases that expire, so a worker killed mid-run cannot hold the lock forever. The Redis lease is
short (``SCORING_LOCK_LEASE_SECONDS``, 60 s) and a keeper thread renews it while the run goes on, so the
run a dead worker was executing can be taken up again by another worker within a minute. The database
lease (embedded mode, where the worker is the web process itself) outlives the task's hard time limit.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

LOCK_NAME = "assessments-scoring"

logger = logging.getLogger(__name__)


class ScoringBusy(Exception):
    """Another run holds the scoring lock; the task retries later."""


def _lease_seconds() -> int:
    return int(settings.CELERY_TASK_TIME_LIMIT) + 60


def _keep(lock, lease: float, stop: threading.Event) -> None:
    """Renew the Redis lease every third of its length until ``stop``; the process dying stops it too."""
    import redis

    while not stop.wait(lease / 3):
        try:
            lock.extend(lease, replace_ttl=True)
        except redis.exceptions.LockError:
            logger.warning("The scoring lock expired before it could be renewed; another run may start.")
            return
        except redis.exceptions.RedisError:
            logger.warning("Could not renew the scoring lock; trying again.", exc_info=True)


@contextlib.contextmanager
def _redis_lock(wait: float):
    import redis

    lease = max(1, int(settings.SCORING_LOCK_LEASE_SECONDS))
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=30)
    # Not thread-local: the keeper thread renews the lease with the token this thread acquired it with.
    lock = client.lock(f"engagement-tracker:{LOCK_NAME}", timeout=lease, blocking_timeout=wait, thread_local=False)
    if not lock.acquire(blocking=wait > 0):
        client.close()
        raise ScoringBusy
    stop = threading.Event()
    keeper = threading.Thread(target=_keep, args=(lock, lease, stop), name="scoring-lock-keeper", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=10)
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
        client.close()


def _try_lease(holder: str) -> bool:
    from assessments.models import ScoringLease

    now = timezone.now()
    with transaction.atomic():
        ScoringLease.objects.get_or_create(name=LOCK_NAME)
    # One conditional UPDATE: atomic on PostgreSQL and SQLite alike.
    taken = ScoringLease.objects.filter(
        Q(holder="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now), name=LOCK_NAME
    ).update(holder=holder, expires_at=now + datetime.timedelta(seconds=_lease_seconds()))
    return taken == 1


@contextlib.contextmanager
def _database_lock(wait: float):
    from assessments.models import ScoringLease

    holder = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while not _try_lease(holder):
        if time.monotonic() >= deadline:
            raise ScoringBusy
        time.sleep(0.2)
    try:
        yield
    finally:
        ScoringLease.objects.filter(name=LOCK_NAME, holder=holder).update(holder="", expires_at=None)


def scoring_lock(*, wait: float = 30.0):
    """Hold the scoring lock for the block; raise ScoringBusy if it stays taken for ``wait`` seconds."""
    if settings.REDIS_URL:
        return _redis_lock(wait)
    return _database_lock(wait)
