"""Helpers for the fault tests: a private Redis server that a test can stop and start again, the Celery
app pointed at it, a real worker in threads of this process, and the environment for subprocesses
(workers, management commands) that must use the pytest database."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection, connections

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class RedisServer:
    """A throwaway redis-server on its own port (no persistence), which a test stops and restarts."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> RedisServer:
        executable = shutil.which("redis-server")
        if executable is None:
            raise AssertionError("redis-server must be installed to run the fault tests")
        self.process = subprocess.Popen(  # noqa: S603
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=10, message=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # as abrupt as a crash or a cut network
            self.process.wait(timeout=10)
        self.process = None
        wait_for(lambda: not self.ping(), timeout=10, message="redis-server to stop")


@contextlib.contextmanager
def running_worker(app, **options):
    """A real worker in threads of this process (Celery's ``start_worker``, no ping check). The database
    connections a task opened are closed when it ends, in the thread that ran it: ``close_all`` in the test's
    thread closes only that thread's, and the worker threads' stayed open until garbage collection."""

    def close_in_worker_thread(**kwargs):
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()

    task_postrun.connect(close_in_worker_thread, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, loglevel="WARNING", **options) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_in_worker_thread)
        connections.close_all()


@contextlib.contextmanager
def celery_broker(app, url: str):
    """Point the Celery app (publisher and any in-process worker) at ``url`` for the block.

    Celery prefers a CELERY_BROKER_URL environment variable to its configuration, but not to the read
    and write URLs, so those are what is set here.
    """
    previous = {name: app.conf.get(name) for name in ("broker_read_url", "broker_write_url")}

    def reset():
        # Both pools live in kombu's registry, keyed by broker URL: forget them, the registry keeps them.
        app._pool = None
        app.amqp._producer_pool = None

    reset()
    app.conf.broker_read_url = app.conf.broker_write_url = url
    try:
        yield
    finally:
        reset()
        app.conf.update(previous)


def database_url() -> str:
    """A DATABASE_URL naming the database this test runs on (pytest's test database)."""
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a worker or command running against the test database (no debug, test secret)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "CELERY_", "DJANGO_")) and key not in {"REDIS_URL", "DATABASE_URL"}
    }
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="fault-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DJANGO_ALLOWED_HOSTS="localhost",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONPATH=str(PROJECT_ROOT),
        # The queue this test process sends its tasks to (tests/conftest.py: one per pytest-xdist process).
        TESTS_TASK_QUEUE=_task_queue(),
    )
    env.update(extra)
    return env


def _task_queue() -> str:
    from config.celery import app

    return app.conf.task_default_queue


def python() -> str:
    return sys.executable
