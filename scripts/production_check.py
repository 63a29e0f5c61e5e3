"""Start the application as production does and use it from outside (CI runs this after the tests).

It starts, from this checkout, the application processes of docker-compose.yml through the same entry point
(`scripts/serve.sh web|web-write|proxy|worker|beat`): debug off, a fresh PostgreSQL database, Redis as broker
and cache, `migrate`, `collectstatic` (the manifest storage), reference data, the read pool's gunicorn, then
the write pool's gunicorn and nginx routing between them by method, a Celery worker and beat. Then it acts as
the TLS proxy would, through nginx (a `Host` of the allowed host names, `X-Forwarded-Proto: https`,
`X-Forwarded-For`) and checks, over HTTP:

1. `/healthz` answers 200 by the loopback address, as the compose health check asks it, on each pool;
2. the login page and its hashed stylesheet load (WhiteNoise serves the collected files);
3. an administrator logs in and reads a page and the API documentation;
4. a token is issued and an engagement is created through the API: by the write pool, the reads by the
   read pool (their access logs);
5. the worker scores it: the partner's score for the engagement's quarter appears;
6. beat runs: the worker heartbeat it schedules every minute is recorded.

Any failure prints the processes' last log lines and exits 1. Usage: `python scripts/production_check.py`
(`make production-check`); `DATABASE_URL`-style settings come from the variables below.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_HOST = os.environ.get("CHECK_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("CHECK_PG_PORT", "5432")
DB_NAME = os.environ.get("CHECK_DB_NAME", "engagement_tracker_production_check")
REDIS = os.environ.get("CHECK_REDIS", "redis://127.0.0.1:6379")
# Redis databases of their own, so the check never touches what the tests or a developer use.
BROKER_DB, CACHE_DB = 14, 15
PUBLIC_HOST = "engagements.example.org"
ADMIN_USER, ADMIN_PASSWORD = "check-admin", "Check-" + secrets.token_urlsafe(12)


def log(message: str) -> None:
    print(f"production-check: {message}", flush=True)


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def python_bin() -> Path:
    venv = ROOT / ".venv" / "bin"
    return venv if (venv / "python").exists() else Path(sys.executable).parent


class Client:
    """HTTP as the TLS proxy forwards it: plain HTTP to gunicorn with the proxy's headers, and cookies
    kept by hand (the production cookies are `Secure`, which a plain-HTTP cookie jar would drop)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body=None, headers=None, host=PUBLIC_HOST, proxied=True):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": host}
        if proxied:
            sent.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        connection.close()
        return response.status, response.headers, data

    def expect(self, status: int, method: str, path: str, **kwargs):
        got, headers, data = self.request(method, path, **kwargs)
        if got != status:
            raise CheckFailed(f"{method} {path}: expected {status}, got {got}: {data[:300]!r}")
        return headers, data


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", PG_HOST, "-p", PG_PORT, "-U", "postgres", "-d", "postgres", "-qtAc", sql],
        check=True,
        capture_output=True,
    )


def reset_services() -> None:
    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    import redis

    for db in (BROKER_DB, CACHE_DB):
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def nginx_bin() -> str:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin") or "nginx"


def pools(port: int, workdir: Path) -> dict[str, str]:
    """The variables of the two gunicorn pools and of nginx routing to them (`serve.sh web`, `web-write`,
    `proxy`): nginx on ``port``, the pools on free loopback ports."""
    read, write = free_port(), free_port()
    return {
        "GUNICORN_BIND": f"127.0.0.1:{read}",
        "GUNICORN_WRITE_BIND": f"127.0.0.1:{write}",
        "PROXY_BIND": f"127.0.0.1:{port}",
        "PROXY_READ_POOL": f"127.0.0.1:{read}",
        "PROXY_WRITE_POOL": f"127.0.0.1:{write}",
        "PROXY_RUN_DIR": str(workdir / "proxy"),
        "NGINX": nginx_bin(),
    }


def pool_port(env: dict, pool: str) -> int:
    """The port of one pool (``read`` or ``write``) in ``env``, from `pools`."""
    return int(env["GUNICORN_BIND" if pool == "read" else "GUNICORN_WRITE_BIND"].rsplit(":", 1)[1])


def environment(port: int, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST"))}
    bindir = python_bin()
    env.update(
        {
            "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
            "PYTHON": str(bindir / "python"),
            "DATABASE_URL": f"postgres://postgres@{PG_HOST}:{PG_PORT}/{DB_NAME}",
            "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
            "REDIS_URL": f"{REDIS}/{CACHE_DB}",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": PUBLIC_HOST,
            "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{PUBLIC_HOST}",
            "DJANGO_TRUSTED_PROXIES": "1",
            "DJANGO_STATIC_ROOT": str(workdir / "staticfiles"),
            **pools(port, workdir),
            "GUNICORN_WORKERS": "2",
            "GUNICORN_WRITE_WORKERS": "1",
            "CELERY_CONCURRENCY": "1",
            "CELERY_BEAT_SCHEDULE_FILE": str(workdir / "celerybeat-schedule"),
            "DJANGO_SUPERUSER_USERNAME": ADMIN_USER,
            "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
            "DJANGO_SUPERUSER_EMAIL": "check@example.org",
        }
    )
    env.pop("REQUIRE_SERVICES", None)
    return env


def wait_for(what: str, probe, timeout: float, processes: dict) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise CheckFailed(f"the {name} process exited with {process.returncode} while waiting for {what}")
        try:
            result = probe()
        except (OSError, http.client.HTTPException):
            result = None
        if result:
            return result
        time.sleep(1)
    raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}")


def quarter_of(day: datetime.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def healthy(port: int):
    """A probe for `wait_for`: `/healthz` on ``port`` by the loopback address answers ok."""

    def probe():
        status, _, data = Client(port).request("GET", "/healthz", host="127.0.0.1", proxied=False)
        if status == 400:  # a host refused stays refused: no point in waiting
            raise CheckFailed(f"/healthz by the loopback address answered 400: {data[:200]!r}")
        return status == 200 and json.loads(data)["status"] == "ok"

    return probe


def start_pools(env: dict, workdir: Path, processes: dict, logs: dict, *, timeout: float = 300) -> None:
    """Once `serve.sh web` (already in ``processes``) answers, as compose starts them after it: the write
    pool and nginx in front of both, added to ``processes`` and ``logs``; returns when nginx answers."""
    wait_for("/healthz to answer 200 on the read pool", healthy(pool_port(env, "read")), timeout, processes)
    started, started_logs = start(("web-write", "proxy"), env, workdir)
    processes.update(started)
    logs.update(started_logs)
    wait_for("/healthz to answer 200 on the write pool", healthy(pool_port(env, "write")), timeout, processes)
    wait_for("/healthz to answer 200 through nginx", healthy(int(env["PROXY_BIND"].rsplit(":", 1)[1])), 30, processes)


def answered_by(log_path: Path, method: str, path: str) -> bool:
    """Whether gunicorn's access log at ``log_path`` has a ``method path`` request line."""
    return f'"{method} {path} HTTP/' in log_path.read_text(errors="replace")


def run_checks(client: Client, processes: dict, env: dict, logs: dict, workdir: Path) -> None:
    started = time.monotonic()
    start_pools(env, workdir, processes, logs)
    log(
        f"both pools and nginx are healthy after {time.monotonic() - started:.0f} s (migrate, collectstatic,"
        " reference data)"
    )

    subprocess.run(
        [env["PYTHON"], "manage.py", "createsuperuser", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )

    # 2. The login page and its stylesheet, by its hashed name.
    _, page = client.expect(200, "GET", "/accounts/login/")
    html = page.decode()
    sheets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html) + re.findall(
        r'<link[^>]+href="([^"]+\.css)"', html
    )
    own = [s for s in sheets if s.startswith("/static/")]
    if not own:
        raise CheckFailed("the login page links no stylesheet of its own")
    if not any(re.search(r"\.[0-9a-f]{12}\.css$", s) for s in own):
        raise CheckFailed(f"stylesheets are not served by their hashed names: {own}")
    for sheet in set(own):
        headers, body = client.expect(200, "GET", sheet)
        if "text/css" not in headers.get("Content-Type", "") or not body:
            raise CheckFailed(f"{sheet} is not a stylesheet: {headers.get('Content-Type')}")
    log(f"login page and {len(set(own))} stylesheet(s) load: {', '.join(sorted(set(own)))}")

    # 3. Log in through the form, then read pages.
    token = client.cookies.get("csrftoken")
    if not token:
        raise CheckFailed("the login page set no CSRF cookie")
    form = urllib.parse.urlencode({"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token})
    headers, _ = client.expect(
        302,
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"https://{PUBLIC_HOST}",
            "Referer": f"https://{PUBLIC_HOST}/accounts/login/",
        },
    )
    if "sessionid" not in client.cookies:
        raise CheckFailed("logging in set no session cookie")
    for path in ("/", "/engagements/", "/assessments/", "/partners/"):
        client.expect(200, "GET", path)
    scripts = set()
    for path in ("/api/docs/", "/api/redoc/"):
        _, page = client.expect(200, "GET", path)
        scripts |= {
            src for src in re.findall(r'<script[^>]+src="([^"]+)"', page.decode()) if src.startswith("/static/")
        }
    if not scripts:
        raise CheckFailed("the API documentation pages load no script of their own")
    for src in scripts:
        client.expect(200, "GET", src)
    log(f"logged in; home, engagements, assessments, partners and both API docs answer 200 ({len(scripts)} scripts)")

    # 4. A token, and an engagement written through the API.
    api = Client(client.port)
    _, body = api.expect(
        200,
        "POST",
        "/api/v1/auth/token/",
        body=json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    auth = {"Authorization": f"Token {json.loads(body)['token']}", "Content-Type": "application/json"}
    today = datetime.date.today()
    start, end = today - datetime.timedelta(days=100), today - datetime.timedelta(days=95)
    engagement = {
        "title": "Production check exercise",
        "engagement_type": "exercise",
        "domain": "land",
        "status": "completed",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "host_country": "SEN",
        "participants": [
            {"partner": "SEN", "role": "host", "personnel": 120},
            {"partner": "GHA", "role": "participant", "personnel": 40},
        ],
    }
    _, body = api.expect(201, "POST", "/api/v1/engagements/", body=json.dumps(engagement), headers=auth)
    reference = json.loads(body)["reference"]
    log(f"engagement {reference} created through the API")
    # nginx sent the write to the write pool, the reads to the read pool.
    if not answered_by(logs["web-write"], "POST", "/api/v1/engagements/") or answered_by(
        logs["web"], "POST", "/api/v1/engagements/"
    ):
        raise CheckFailed("the API's POST was not answered by the write pool alone")
    if not answered_by(logs["web"], "GET", "/engagements/") or answered_by(logs["web-write"], "GET", "/engagements/"):
        raise CheckFailed("the engagement list was not answered by the read pool alone")
    log("nginx sent the API's POST to the write pool and the pages to the read pool")

    # 5. The worker scores it.
    period = quarter_of(end)
    scored_at = time.monotonic()

    def scored():
        status, _, data = api.request("GET", f"/api/v1/assessments/scores/?partner=SEN&period={period}", headers=auth)
        if status != 200:
            return None
        rows = json.loads(data)["results"]
        return rows if rows and rows[0]["engagement_count"] >= 1 else None

    rows = wait_for(f"the worker to score SEN for {period}", scored, 180, processes)
    log(
        f"the worker scored SEN for {period} in {time.monotonic() - scored_at:.1f} s: "
        f"overall {rows[0]['overall']}, {rows[0]['engagement_count']} engagement(s)"
    )

    # 6. Beat schedules the heartbeat each minute; the worker records it.
    def heartbeat():
        status, _, data = client.request("GET", "/healthz", host="127.0.0.1", proxied=False)
        return status == 200 and json.loads(data).get("worker_last_seen")

    seen = wait_for("beat's worker heartbeat", heartbeat, 150, processes)
    log(f"beat and the worker run the schedule: worker last seen {seen}")


def start(kinds, env: dict, workdir: Path) -> tuple[dict[str, subprocess.Popen], dict[str, Path]]:
    """Start each process kind through `scripts/serve.sh`, each in its own session, its output in a log."""
    processes, logs = {}, {}
    for kind in kinds:
        logs[kind] = workdir / f"{kind}.log"
        processes[kind] = subprocess.Popen(
            ["sh", str(ROOT / "scripts" / "serve.sh"), kind],
            cwd=ROOT,
            env=env,
            stdout=logs[kind].open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return processes, logs


def stop(processes: dict[str, subprocess.Popen]) -> None:
    """Stop them with all their children (gunicorn's and Celery's workers), killing those that linger."""
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    if not shutil.which("psql"):
        log("psql is missing: PostgreSQL's client is needed")
        return 1
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="production-check-"))
    env = environment(port, workdir)
    reset_services()
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    began = time.monotonic()
    try:
        processes, logs = start(("web", "worker", "beat"), env, workdir)
        workdir.chmod(0o711)  # nginx's workers (another user when it runs as root) reach its temporary files
        run_checks(Client(port), processes, env, logs, workdir)
    except (CheckFailed, subprocess.CalledProcessError) as error:
        log(f"FAILED: {error}")
        for kind, path in logs.items():
            lines = path.read_text(errors="replace").splitlines()[-40:]
            print(f"--- last lines of the {kind} log ---", *lines, sep="\n", flush=True)
        return 1
    finally:
        stop(processes)
        shutil.rmtree(workdir, ignore_errors=True)
    log(f"passed in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
