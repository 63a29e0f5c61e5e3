"""The lock that keeps two scoring runs from interleaving: Redis when configured, the database otherwise.

Both are leases that expire, so a worker killed mid-run cannot hold the lock forever; the lease outlives
the task's hard time limit, after which the worker is gone anyway.
"""

from __future__ import annotations

import contextlib
import datetime
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

LOCK_NAME = "assessments-scoring"


class ScoringBusy(Exception):
    """Another run holds the scoring lock; the task retries later."""


def _lease_seconds() -> int:
    return int(settings.CELERY_TASK_TIME_LIMIT) + 60


@contextlib.contextmanager
def _redis_lock(wait: float):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=30)
    lock = client.lock(f"engagement-tracker:{LOCK_NAME}", timeout=_lease_seconds(), blocking_timeout=wait)
    if not lock.acquire(blocking=wait > 0):
        raise ScoringBusy
    try:
        yield
    finally:
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
