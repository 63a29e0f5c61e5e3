"""The application served as in production, for benchmarks that go the way users do: gunicorn with debug off
and a real Celery worker on the benchmark's database, both started from this checkout and stopped after.

    with served(database_url, broker_url) as app:
        seconds, run = app.run_through_api(["2026-Q3"])

``run_through_api`` posts to ``/api/v1/assessments/runs/`` with an API token, as a script of a user would,
then polls the run's API until it has finished: the time is from the POST to the answer that says so
(polled every 50 ms), so the broker, the worker picking the task up and the HTTP round trips are counted.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_USER = "bench-run-analyst"
POLL_SECONDS = 0.05


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token

    def request(self, method: str, path: str, body=None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return response.status, json.loads(data) if data else {}

    def run_through_api(self, periods: list[str], timeout: float = 600) -> tuple[float, dict]:
        """Seconds from POST to the run's API saying it has finished, and the run as the API shows it."""
        started = time.perf_counter()
        status, run = self.request("POST", "/api/v1/assessments/runs/", {"periods": periods})
        if status != 202:
            raise SystemExit(f"POST /api/v1/assessments/runs/ answered {status}: {run}")
        deadline = time.monotonic() + timeout
        while run["status"] not in ("succeeded", "failed"):
            if time.monotonic() > deadline:
                raise SystemExit(f"the run did not finish within {timeout:.0f} s")
            time.sleep(POLL_SECONDS)
            status, run = self.request("GET", f"/api/v1/assessments/runs/{run['id']}/")
            if status != 200:
                raise SystemExit(f"GET of the run answered {status}: {run}")
        seconds = time.perf_counter() - started
        if run["status"] != "succeeded":
            raise SystemExit(f"the run failed: {run.get('error')}")
        return seconds, run


def _token() -> tuple[str, str]:
    """A user of the analyst role (who may start runs) with a fresh password, made in the database."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from core.services import roles_sync

    roles_sync()
    password = secrets.token_urlsafe(16)
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="analyst"))
    return BENCH_USER, password


@contextlib.contextmanager
def served(database_url: str, broker_url: str, *, web_workers: int = 2, worker_processes: int = 1):
    """Start gunicorn (debug off) and a Celery worker on ``database_url``; yield a ``Served``; stop both."""
    from config.celery import app as celery_app

    port = _free_port()
    bindir = Path(sys.executable).parent
    workdir = Path(tempfile.mkdtemp(prefix="bench-served-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback, no TLS proxy in front
            "DJANGO_STATIC_ROOT": str(workdir / "staticfiles"),
            "API_THROTTLE_USER": "1000000/hour",  # polling every 50 ms is the benchmark, not abuse
        }
    )
    env.pop("REQUIRE_SERVICES", None)
    env.pop("REDIS_URL", None)
    celery_app.conf.broker_url = broker_url
    celery_app.control.purge()
    hostname = f"bench-run-{os.getpid()}"
    commands = {
        "web": [
            str(bindir / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={web_workers}",
            "--timeout=120",
        ],
        "worker": [
            str(bindir / "celery"),
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            f"--concurrency={worker_processes}",
            "--loglevel=WARNING",
            f"--hostname={hostname}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
    }
    logs = {name: open(workdir / f"{name}.log", "wb") for name in commands}  # noqa: SIM115
    processes = {
        name: subprocess.Popen(command, cwd=ROOT, env=env, stdout=logs[name], stderr=subprocess.STDOUT)  # noqa: S603
        for name, command in commands.items()
    }
    try:
        username, password = _token()
        deadline = time.monotonic() + 120
        token = None
        while token is None:
            for name, process in processes.items():
                if process.poll() is not None:
                    raise SystemExit(f"the {name} process exited; its log: {workdir / (name + '.log')}")
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 120 s; logs in {workdir}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                body = json.dumps({"username": username, "password": password})
                connection.request(
                    "POST", "/api/v1/auth/token/", body=body, headers={"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                data = response.read()
                if response.status != 200:
                    raise SystemExit(f"/api/v1/auth/token/ answered {response.status}: {data[:300]!r}")
                token = json.loads(data)["token"]
            except OSError:
                time.sleep(0.5)
        while not celery_app.control.ping(destination=[f"{hostname}@{os.uname().nodename}"], timeout=1):
            if processes["worker"].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Celery worker did not start; its log: {workdir / 'worker.log'}")
        yield Served(port, token)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for handle in logs.values():
            handle.close()
