"""Docker cannot run here, so the compose file is checked as data: seven services, the right commands,
health checks, the app waiting for healthy PostgreSQL and Redis, nginx routing writes to their own pool."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_text(service):
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_seven_services_with_health_checks():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "web-write", "proxy", "worker", "beat"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]


def test_postgres_keeps_its_data_in_a_named_volume():
    data = compose()
    assert "postgres-data" in data["volumes"]
    assert any(v.startswith("postgres-data:") for v in data["services"]["postgres"]["volumes"])


def serve_script(kind: str) -> str:
    """The lines of scripts/serve.sh that the given process kind runs."""
    text = (ROOT / "scripts" / "serve.sh").read_text()
    block = text.split(f"  {kind})", 1)[1].split(";;", 1)[0]
    return " ".join(line.strip().rstrip("\\").strip() for line in block.splitlines() if line.strip())


def test_app_commands_are_the_entry_point_ci_starts():
    services = compose()["services"]
    for kind in ("web", "web-write", "worker", "beat"):
        assert services[kind]["command"] == ["sh", "scripts/serve.sh", kind]
    assert services["proxy"]["command"] == ["sh", "/app/scripts/serve.sh", "proxy"]
    web = serve_script("web")
    assert "migrate --noinput" in web and "collectstatic --noinput" in web and "config.wsgi:application" in web
    assert web.index("migrate") < web.index("collectstatic") < web.index('"$GUNICORN" config.wsgi')
    assert 'exec nice -n "${GUNICORN_NICE:-0}" "$GUNICORN" config.wsgi' in web  # the read pool, niceness 0 by default
    write = serve_script("web-write")
    assert "migrate" not in write and write.index("collectstatic --noinput") < write.index('"$GUNICORN" config.wsgi')
    # Both pools' queries take one core at most (config/settings.py, DATABASE_PARALLEL_WORKERS); the worker's
    # runs keep the server's setting.
    limit = 'export DATABASE_PARALLEL_WORKERS="${WEB_DATABASE_PARALLEL_WORKERS:-0}"'
    assert web.index("bootstrap_demo") < web.index(limit) < web.index('"$GUNICORN" config.wsgi')
    assert write.index(limit) < write.index('"$GUNICORN" config.wsgi')
    assert "DATABASE_PARALLEL_WORKERS" not in serve_script("worker")
    assert '"$CELERY" -A config worker' in serve_script("worker")
    assert '"$CELERY" -A config beat' in serve_script("beat")
    # CI's production check starts the same script.
    assert "serve.sh" in (ROOT / "scripts" / "production_check.py").read_text()
    assert "production_check.py" in (ROOT / ".ci" / "run").read_text() + (ROOT / "Makefile").read_text()
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_only_the_router_is_published_and_on_loopback_by_default():
    services = compose()["services"]
    assert "ports" not in services["web"] and "ports" not in services["web-write"]
    (published,) = services["proxy"]["ports"]
    default = published.split(":-", 1)[1].split("}", 1)[0] if ":-" in published else published.rsplit(":", 1)[0]
    assert default.startswith("127.0.0.1:")


@pytest.mark.django_db
def test_compose_health_check_is_answered_although_loopback_is_not_an_allowed_host(client, settings):
    """The health check asks http://127.0.0.1:8000/healthz while .env.example allows only the public name."""
    settings.ALLOWED_HOSTS = ["engagements.example.org"]
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    # Every other path still refuses a host it does not know.
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_app_services_wait_for_healthy_backends_and_share_one_definition():
    services = compose()["services"]
    for name in ("web", "web-write", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["DJANGO_DEBUG"] == "0"
        assert services[name]["image"] == services["web"]["image"]


def test_env_example_names_the_required_production_variables():
    text = (ROOT / ".env.example").read_text()
    for variable in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "POSTGRES_PASSWORD"):
        assert f"{variable}=" in text


@pytest.mark.parametrize(("arguments", "address"), [([], "127.0.0.1:8000"), (["PORT=8001"], "127.0.0.1:8001")])
def test_make_run_serves_on_the_chosen_port(arguments, address):
    # -n prints the commands without running them; the last one starts the server. Run inside `make test`,
    # a nested make inherits MAKEFLAGS and would print its directory after the commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert printed.splitlines()[-1].endswith(f"runserver {address}")


def test_the_write_pool_starts_after_web_has_migrated_and_the_router_after_both():
    services = compose()["services"]
    assert services["web-write"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert {name: dep["condition"] for name, dep in services["proxy"]["depends_on"].items()} == {
        "web": "service_healthy",
        "web-write": "service_healthy",
    }
    proxy = services["proxy"]["environment"]
    assert proxy["PROXY_READ_POOL"] == "web:8000"
    assert proxy["PROXY_WRITE_POOL"] == "web-write:8001"
    assert "8001/healthz" in " ".join(services["web-write"]["healthcheck"]["test"])


def _router(tmp_path, **env):
    """config/nginx.conf.template as `serve.sh proxy` fills it in (the sed of its block, run with nginx
    replaced by `true`)."""
    run_dir = tmp_path / "proxy"
    subprocess.run(
        ["sh", str(ROOT / "scripts" / "serve.sh"), "proxy"],
        env={**os.environ, "PROXY_RUN_DIR": str(run_dir), "NGINX": "true", **env},
        check=True,
    )
    return (run_dir / "nginx.conf").read_text()


def test_the_router_sends_writes_to_the_write_pool_and_imports_to_the_read_pool(tmp_path):
    conf = _router(tmp_path, PROXY_READ_POOL="10.0.0.1:8000", PROXY_WRITE_POOL="10.0.0.2:8001")
    assert not re.search(r"@[A-Z_]+@", conf)  # every placeholder filled in
    read = conf.split("upstream read_pool", 1)[1].split("}", 1)[0]
    write = conf.split("upstream write_pool", 1)[1].split("}", 1)[0]
    assert "server 10.0.0.1:8000;" in read and "server 10.0.0.2:8001;" in write
    methods = conf.split("map $request_method $by_method", 1)[1].split("}", 1)[0]
    routes = dict(line.strip().rstrip(";").split() for line in methods.splitlines() if line.strip() not in ("", "{"))
    assert routes == {"GET": "read_pool", "HEAD": "read_pool", "OPTIONS": "read_pool", "default": "write_pool"}
    paths = conf.split("map $uri $pool", 1)[1].split("}", 1)[0]
    assert "~/import/ read_pool;" in paths and "default $by_method;" in paths
    assert "proxy_pass http://$pool;" in conf
    # Not a proxy layer of its own for the app: the TLS proxy's headers go on as they came.
    assert "proxy_set_header X-Forwarded-For $http_x_forwarded_for;" in conf
    assert "proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;" in conf


def test_the_router_lets_the_app_answer_its_own_413(tmp_path):
    assert "client_max_body_size 51m;" in _router(tmp_path)
    assert "client_max_body_size 11m;" in _router(tmp_path, DJANGO_MAX_UPLOAD_MB="10")
    assert "proxy_read_timeout 65s;" in _router(tmp_path)


def test_nginx_accepts_the_filled_in_configuration(tmp_path):
    """`nginx -t` on what `serve.sh proxy` writes (CI installs nginx for the production check)."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not nginx:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("nginx is missing (REQUIRE_SERVICES=1: this test must run, not skip)", pytrace=False)
        pytest.skip("nginx is not installed")
    _router(
        tmp_path, PROXY_READ_POOL="127.0.0.1:18000", PROXY_WRITE_POOL="127.0.0.1:18001", PROXY_BIND="127.0.0.1:18002"
    )
    tested = subprocess.run([nginx, "-t", "-c", str(tmp_path / "proxy" / "nginx.conf")], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stderr
    assert "test is successful" in tested.stderr
