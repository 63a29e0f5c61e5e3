"""The cache backend used with Redis: Django's, except that an unreachable Redis makes it an empty cache
instead of an error page.

Nothing the application keeps in the cache is the only copy of anything: API throttling counters, the
health probe. With Redis down, reads miss and writes are dropped (logged), so pages and the API keep
answering; /healthz still reports the cache as down (it calls ``ping``).
"""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def _unreachable_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _degrade(fallback):
    """Run the cache operation; if Redis cannot be reached, log it and return ``fallback(*args)``."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except _unreachable_errors() as exc:
                logger.warning("Cache unavailable (%s): %s skipped.", type(exc).__name__, method.__name__)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


def _false(*args, **kwargs):
    return False


def _none(*args, **kwargs):
    return None


def _empty(*args, **kwargs):
    return {}


def _missing(key, *args, **kwargs):
    raise ValueError(f"Key {key!r} not found (the cache is unavailable).")


class ResilientRedisCache(RedisCache):
    get = _degrade(_default)(RedisCache.get)
    get_many = _degrade(_empty)(RedisCache.get_many)
    has_key = _degrade(_false)(RedisCache.has_key)
    add = _degrade(_false)(RedisCache.add)
    set = _degrade(_none)(RedisCache.set)
    set_many = _degrade(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _degrade(_false)(RedisCache.touch)
    delete = _degrade(_false)(RedisCache.delete)
    delete_many = _degrade(_none)(RedisCache.delete_many)
    incr = _degrade(_missing)(RedisCache.incr)
    clear = _degrade(_false)(RedisCache.clear)

    def ping(self) -> None:
        """Raise if Redis does not answer (for /healthz, which must see the outage the others hide)."""
        self._cache.get_client(write=True).ping()
