#!/usr/bin/env sh
# The production entry points, one per process kind: docker-compose.yml, the Dockerfile and CI's production
# check (scripts/production_check.py) all start the application through this file, so what CI proves is
# what a deployment runs. Settings come from the environment (README, "Configuration").
#
#   serve.sh web        migrate, collect static files, load reference data and role groups, then gunicorn:
#                       the read pool (pages, the API's reads, imports)
#   serve.sh web-write  collect static files, then gunicorn: the write pool (every other POST, PUT, PATCH,
#                       DELETE), started once `web` answers (it migrates)
#   serve.sh proxy      nginx routing by method to the two pools (config/nginx.conf.template), behind the
#                       TLS proxy: a save never waits for a worker held by readers (bench/README.md, issue 22)
#   serve.sh worker     a Celery worker
#   serve.sh beat       Celery beat (run exactly one)
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
CELERY=${CELERY:-celery}
GUNICORN=${GUNICORN:-gunicorn}

case "${1:-}" in
  web)
    "$PYTHON" manage.py migrate --noinput
    "$PYTHON" manage.py collectstatic --noinput
    "$PYTHON" manage.py bootstrap_demo --no-demo
    # Requests never take more than one core for a query (config/settings.py, DATABASE_PARALLEL_WORKERS).
    export DATABASE_PARALLEL_WORKERS="${WEB_DATABASE_PARALLEL_WORKERS:-0}"
    # GUNICORN_NICE: the read pool's niceness (0, as every process; 10 lets the write pool's saves take a
    # core first when both pools want one).
    exec nice -n "${GUNICORN_NICE:-0}" "$GUNICORN" config.wsgi:application \
      --bind "${GUNICORN_BIND:-0.0.0.0:8000}" \
      --workers "${GUNICORN_WORKERS:-3}" \
      --threads "${GUNICORN_THREADS:-1}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --access-logfile -
    ;;
  web-write)
    "$PYTHON" manage.py collectstatic --noinput
    export DATABASE_PARALLEL_WORKERS="${WEB_DATABASE_PARALLEL_WORKERS:-0}"
    exec "$GUNICORN" config.wsgi:application \
      --bind "${GUNICORN_WRITE_BIND:-0.0.0.0:8001}" \
      --workers "${GUNICORN_WRITE_WORKERS:-2}" \
      --threads "${GUNICORN_WRITE_THREADS:-1}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --access-logfile -
    ;;
  proxy)
    # Temporary files and the pid under PROXY_RUN_DIR; nginx makes its subfolders (for its workers' user).
    run_dir=${PROXY_RUN_DIR:-/tmp/engagement-proxy}
    mkdir -p "$run_dir"
    chmod 755 "$run_dir"
    sed -e "s|@RUN_DIR@|$run_dir|g" \
      -e "s|@BIND@|${PROXY_BIND:-0.0.0.0:8000}|g" \
      -e "s|@READ_POOL@|${PROXY_READ_POOL:-web:8000}|g" \
      -e "s|@WRITE_POOL@|${PROXY_WRITE_POOL:-web-write:8001}|g" \
      -e "s|@MAX_BODY_MB@|$((${DJANGO_MAX_UPLOAD_MB:-50} + 1))|g" \
      -e "s|@TIMEOUT@|$((${GUNICORN_TIMEOUT:-60} + 5))|g" \
      config/nginx.conf.template >"$run_dir/nginx.conf"
    exec "${NGINX:-nginx}" -c "$run_dir/nginx.conf" -g "daemon off;"
    ;;
  worker)
    exec "$CELERY" -A config worker --loglevel=info --concurrency="${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    exec "$CELERY" -A config beat --loglevel=info --schedule="${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}"
    ;;
  *)
    echo "usage: $0 web|web-write|proxy|worker|beat" >&2
    exit 2
    ;;
esac
