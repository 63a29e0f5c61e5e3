#!/usr/bin/env sh
# The production entry points, one per process kind: docker-compose.yml, the Dockerfile and CI's production
# check (scripts/production_check.py) all start the application through this file, so what CI proves is
# what a deployment runs. Settings come from the environment (README, "Configuration").
#
#   serve.sh web     migrate, collect static files, load reference data and role groups, then gunicorn
#   serve.sh worker  a Celery worker
#   serve.sh beat    Celery beat (run exactly one)
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
    exec "$GUNICORN" config.wsgi:application \
      --bind "${GUNICORN_BIND:-0.0.0.0:8000}" \
      --workers "${GUNICORN_WORKERS:-3}" \
      --threads "${GUNICORN_THREADS:-1}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --access-logfile -
    ;;
  worker)
    exec "$CELERY" -A config worker --loglevel=info --concurrency="${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    exec "$CELERY" -A config beat --loglevel=info --schedule="${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}"
    ;;
  *)
    echo "usage: $0 web|worker|beat" >&2
    exit 2
    ;;
esac
