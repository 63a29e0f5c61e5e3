"""Settings come from the environment (DESIGN.md, "Configuration"). Each case imports the settings in a
fresh interpreter, because Django reads them once at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "x7!kq2-real-looking-secret-key-for-the-deploy-check-0a9s8d7f6g5h4j3k2l1"

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ENGINE": settings.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(settings.DATABASES["default"]["NAME"]),
    "EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "BROKER": settings.CELERY_BROKER_URL,
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "CACHE_LOCATION": settings.CACHES["default"].get("LOCATION"),
    "HOSTS": settings.ALLOWED_HOSTS,
    "SECRET_IS_DEV": settings.SECRET_KEY.startswith("django-insecure"),
}))
"""


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "REDIS_URL"))
    }
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # Not under pytest in the child: the production rules apply.
    command = [sys.executable, "-c", code] if code else [sys.executable, *args]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def probe(env: dict[str, str]) -> dict:
    result = run_python(PROBE, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_defaults_under_debug():
    values = probe({"DJANGO_DEBUG": "1"})
    assert values["DEBUG"] is True
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"].endswith("db.sqlite3")
    assert values["EAGER"] is True
    assert values["BROKER"] == ""
    assert values["CACHE"].endswith("LocMemCache")
    assert values["SECRET_IS_DEV"] is True


def test_production_values_come_from_the_environment():
    values = probe(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": SECRET,
            "DJANGO_ALLOWED_HOSTS": "engagements.example.org, api.example.org",
            "DATABASE_URL": "postgres://app:pw@db.internal:5432/tracker",
            "CELERY_BROKER_URL": "redis://redis:6379/0",
            "REDIS_URL": "redis://redis:6379/1",
        }
    )
    assert values["DEBUG"] is False
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert values["DB_NAME"] == "tracker"
    assert values["EAGER"] is False
    assert values["BROKER"] == "redis://redis:6379/0"
    assert values["CACHE"].endswith("RedisCache")
    assert values["CACHE_LOCATION"] == "redis://redis:6379/1"
    assert values["HOSTS"] == ["engagements.example.org", "api.example.org"]
    assert values["SECRET_IS_DEV"] is False


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "a.example.org"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": SECRET}, "DJANGO_ALLOWED_HOSTS must be set"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
    ],
)
def test_missing_or_bad_production_settings_are_refused(env, message):
    result = run_python(PROBE, env)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_real_secrets():
    result = run_python(
        "",
        {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": SECRET, "DJANGO_ALLOWED_HOSTS": "engagements.example.org"},
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_with_debug_on():
    result = run_python("", {"DJANGO_DEBUG": "1"}, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "DEBUG" in result.stdout + result.stderr


PROXY_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "TRUSTED_PROXIES": settings.TRUSTED_PROXIES,
    "SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "AXES_IP": settings.AXES_CLIENT_IP_CALLABLE,
}))
"""
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": SECRET, "DJANGO_ALLOWED_HOSTS": "engagements.example.org"}


def proxy_probe(env: dict[str, str]) -> dict:
    result = run_python(PROXY_PROBE, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_trusted_proxy_no_client_may_claim_https():
    values = proxy_probe(PRODUCTION)
    assert values["TRUSTED_PROXIES"] == 0
    assert values["SSL_HEADER"] is None
    assert values["AXES_IP"] == "core.clients.client_ip"


def test_behind_a_trusted_proxy_its_https_flag_is_believed():
    values = proxy_probe({**PRODUCTION, "DJANGO_TRUSTED_PROXIES": "1"})
    assert values["TRUSTED_PROXIES"] == 1
    assert values["SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize("value", ["-1", "one"])
def test_a_bad_proxy_count_is_refused(value):
    result = run_python(PROXY_PROBE, {**PRODUCTION, "DJANGO_TRUSTED_PROXIES": value})
    assert result.returncode != 0
    assert "DJANGO_TRUSTED_PROXIES" in result.stderr


def test_check_deploy_is_clean_for_the_documented_setup_behind_a_proxy():
    env = {**PRODUCTION, "DJANGO_TRUSTED_PROXIES": "1"}
    result = run_python("", env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DJANGO_TRUSTED_PROXIES=1" in (ROOT / ".env.example").read_text()


PARALLEL_PROBE = """
import json, django
from django.db import connection
django.setup()
with connection.cursor() as cursor:
    cursor.execute("SHOW max_parallel_workers_per_gather")
    given = cursor.fetchone()[0]
    cursor.execute("SET max_parallel_workers_per_gather = 3")
    cursor.execute("RESET max_parallel_workers_per_gather")
    cursor.execute("SHOW max_parallel_workers_per_gather")
    print(json.dumps({"given": given, "after_reset": cursor.fetchone()[0]}))
"""


@pytest.mark.requires_postgres
def test_database_parallel_workers_is_given_to_every_connection_and_survives_reset():
    """``DATABASE_PARALLEL_WORKERS`` (0 for the gunicorn pools, scripts/serve.sh) reaches PostgreSQL as the
    connection's own default: a run's ``RESET`` goes back to it, not to the server's setting."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    env = {"DJANGO_DEBUG": "1", "DATABASE_URL": maintenance}
    limited = run_python(PARALLEL_PROBE, {**env, "DATABASE_PARALLEL_WORKERS": "0"})
    assert limited.returncode == 0, limited.stderr
    assert json.loads(limited.stdout.strip().splitlines()[-1]) == {"given": "0", "after_reset": "0"}
    server = run_python(PARALLEL_PROBE, env)
    assert server.returncode == 0, server.stderr
    values = json.loads(server.stdout.strip().splitlines()[-1])
    assert values["given"] == values["after_reset"] != "0"  # the server's own setting (2 unless changed)
