"""Settings for Engagement Tracker, read from the environment (12-factor).

The variables and their defaults are the table in DESIGN.md ("Configuration"). With nothing set, the
application runs embedded: SQLite, eager Celery tasks in-process, a local-memory cache. Production sets
``DATABASE_URL``, ``CELERY_BROKER_URL``, ``REDIS_URL``, ``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS``
with ``DJANGO_DEBUG=0``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.email import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    normalized = value.strip().lower()
    if normalized in {"1", "true", "yes", "on"}:
        return True
    if normalized in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Running under pytest or `manage.py test`: the suite supplies its own throwaway secret and hosts.
TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]

DEBUG = env_bool("DJANGO_DEBUG", False)

_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production-0123456789abcdef"  # noqa: S105 (debug/tests only)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = _DEV_SECRET_KEY
    else:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    if DEBUG or TESTING:
        ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
    else:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# How many proxies stand in front of the app (each appends to X-Forwarded-For). 0: clients connect
# directly, and every forwarding header is a client's claim. Client addresses (throttling, lock-out) and
# the HTTPS flag are believed from the proxies only (core/clients.py).
TRUSTED_PROXIES = env_int("DJANGO_TRUSTED_PROXIES", 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(f"DJANGO_TRUSTED_PROXIES must be 0 or more, got {TRUSTED_PROXIES}.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "csp",
    "axes",
    # Project apps. Dependencies point one way: partners <- organizations <- engagements <- assessments.
    "core",
    "partners",
    "organizations",
    "engagements",
    "assessments",
    "webhooks",  # listens to engagements and assessments; neither imports it
    "notifications",  # listens to engagements and assessments; neither imports it
]

MIDDLEWARE = [
    # First: the orchestrator's health check names no allowed host (core/middleware.py says why).
    "core.middleware.HealthCheckMiddleware",
    # RateLimit-* headers from what the API's throttles counted (core/api/throttling.py).
    "core.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Control characters in a path (404) or a query parameter (400), before anything looks them up.
    "core.middleware.HostileInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Django's, but a write to an address without its trailing slash is answered, never redirected.
    "core.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The user's permissions and groups from the shared cache, invalidated by their changes (core/user_facts.py).
    "core.middleware.UserFactsMiddleware",
    # A body over DJANGO_MAX_UPLOAD_MB is a 413 before anything reads it (CSRF reads forms in process_view).
    "core.middleware.UploadLimitMiddleware",
    # Cache-Control: private, no-store on every answer to a signed-in user.
    "core.middleware.PrivateCacheMiddleware",
    "core.middleware.LoginRequiredMiddleware",
    # Dashboard, score and list reads on the replica when there is one; read-your-writes (core/replica.py).
    "core.replica.ReplicaMiddleware",
    # After a user's write, their reads are never served a page copy rendered before it (core/page_cache.py).
    "core.middleware.RecentWriterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.UnavailableMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns repeated failed logins into a lock-out.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
                "notifications.context_processors.inbox",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Database: DATABASE_URL, SQLite beside the project by default.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite waits for a writer rather than failing at once when eager tasks and requests overlap.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# A streaming read replica (optional): DATABASE_REPLICA_URL. Dashboards, score and list reads go there,
# everything else (and every read after a write) to the primary: core/replica.py. Tests mirror the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# PostgreSQL parallel workers per query for this process's connections (max_parallel_workers_per_gather, given
# when a connection opens, so RESET keeps it); unset or -1: the server's setting. scripts/serve.sh sets 0 for
# both gunicorn pools (WEB_DATABASE_PARALLEL_WORKERS to change it): on a small machine one request's parallel
# scan (counting a search's hundreds of thousands of matches) took every core from the other requests and
# the saves (bench/README.md, "One run, idle (2026-12-06, seventh session)"). The worker's runs keep the
# server's setting (data-change runs: ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS).
DATABASE_PARALLEL_WORKERS = env_int("DATABASE_PARALLEL_WORKERS", -1)
if DATABASE_PARALLEL_WORKERS >= 0:
    for _database in DATABASES.values():
        if _database["ENGINE"] == "django.db.backends.postgresql":
            _options = _database.setdefault("OPTIONS", {})
            _given = _options.get("options", "")
            _options["options"] = f"{_given} -c max_parallel_workers_per_gather={DATABASE_PARALLEL_WORKERS}".strip()
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
# After a write, a browser reads from the primary for this many seconds (read your writes).
DATABASE_REPLICA_STICKY_SECONDS = env_int("DATABASE_REPLICA_STICKY_SECONDS", 10)
# The views (URL names) whose GET reads may be served by the replica: dashboards, scores, lists.
DATABASE_REPLICA_VIEWS = frozenset(
    {
        "assessments:overview",
        "assessments:compare",
        "assessments:partner",
        "assessments:organization",
        "assessments:region",
        "engagements:list",
        "partners:list",
        "partners:detail",
        "organizations:list",
        "organizations:detail",
        "assessment-score-list",
        "assessment-score-detail",
        "engagement-list",
        "partner-list",
        "organization-list",
    }
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (and locks): REDIS_URL, local memory by default.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache that, with Redis unreachable, misses instead of failing the request.
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "engagement-tracker",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "engagement-tracker"}}
# How long a rendered dashboard snapshot or a list count is kept (core/page_cache.py): only with a shared
# cache (local memory is per process, so another process would not see the invalidation), never in tests
# unless a test asks for it. 0 turns it off.
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 600) if REDIS_URL and not TESTING else 0
# How long after a change a reader may still be served the copy of a page rendered before it, while one
# reader renders the new one (core/page_cache.py, "stale while revalidate").
DASHBOARD_STALE_SECONDS = env_int("DASHBOARD_STALE_SECONDS", 60)
# How often at most a cached page or list is rendered again while saves keep making it stale: a copy younger
# than this is served as it is, except to a user who wrote in that time (core/page_cache.py). 0: at once.
PAGE_REFRESH_SECONDS = env_int("PAGE_REFRESH_SECONDS", 5)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as people read them in each language; ISO in English (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes (and WhiteNoise serves from) with debug off; the production check uses a folder
# of its own.
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production; plain files while developing and testing, where
        # collectstatic has not run.
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Uploads: a request body over DJANGO_MAX_UPLOAD_MB is answered 413 (core.middleware.UploadLimitMiddleware).
MAX_UPLOAD_BYTES = env_int("DJANGO_MAX_UPLOAD_MB", 50) * 1024 * 1024
# Form fields and bodies read whole (files not counted), and the size from which an upload goes to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# XLSX imports (core/xlsx.py): what a workbook may hold once unzipped, before and while it is parsed.
XLSX_MAX_UNCOMPRESSED_BYTES = env_int("XLSX_MAX_UNCOMPRESSED_MB", 200) * 1024 * 1024
XLSX_MAX_SHARED_STRINGS = env_int("XLSX_MAX_SHARED_STRINGS", 1_000_000)
XLSX_MAX_CELLS = env_int("XLSX_MAX_CELLS", 5_000_000)
# The engagement list and API count exactly up to this many rows; past it the count is PostgreSQL's estimate
# (``count_estimated``) and a search lists its matches in the list's order, unranked (core/paging.py).
# How far the engagement list (page and API) is counted exactly; past it the count is PostgreSQL's estimate
# (count_estimated). Counting costs what reading the rows costs: 430,000 matches of a broad word, or the
# 311,432 engagements of the busiest partner (240 ms of a 460 ms page at a million; bench/README.md). A low
# estimate (a partner's id = ANY(ARRAY(...))) is shown as "more than" the limit.
LIST_EXACT_COUNT_LIMIT = env_int("LIST_EXACT_COUNT_LIMIT", 10_000)
# A partner filter matching at least this many participations is answered by probing each engagement in the
# list's order (the busiest partner, in a third of all engagements: about 300 probes for a page of 100);
# below it, by reading the partner's engagement ids first (engagements.filtersets.filter_partner).
LIST_PARTNER_PROBE_FROM = env_int("LIST_PARTNER_PROBE_FROM", 10_000)

# Sessions end after a working day, and at once on logout or password change (Django's session hash).
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_SECONDS", 8 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"

# Login lock-out (django-axes): 5 failures for one username from one address lock it for 15 minutes.
# Off under tests unless a test turns it on (the test client logs in without a request).
AXES_ENABLED = env_bool("AXES_ENABLED", not TESTING)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address a failure counts against: the real client's, as the trusted proxies report it. Without this,
# a client picks its own address with X-Forwarded-For, or (behind a proxy) every client shares the proxy's.
AXES_CLIENT_IP_CALLABLE = "core.clients.client_ip"

# Content-Security-Policy: only our own scripts, never inline ones; nothing from another host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Security. `manage.py check --deploy` is clean with DJANGO_DEBUG=0 and real secrets (tested).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True) and not TESTING
    # Health checks from the orchestrator come over plain HTTP inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Only a proxy of ours may say the client used HTTPS; without one, any client could send the header.
    if TRUSTED_PROXIES >= 1:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django REST Framework: session and token auth, login required, page-number pagination.
REST_FRAMEWORK = {
    # Token first: an unauthenticated request then gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        # Rates read at request time (core/api/throttling.py), so the settings below always apply.
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "100000/hour" if TESTING else "60/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "100000/hour" if TESTING else "5000/hour"),
    },
}

# API tokens (django-rest-knox, model core.ApiToken): only a hash is stored; each expires. A token's
# lifetime is chosen when it is made, API_TOKEN_DAYS by default and never more than API_TOKEN_MAX_DAYS.
KNOX_TOKEN_MODEL = "core.ApiToken"  # noqa: S105 (a model name, not a secret)
REST_KNOX = {
    # A recognisable prefix lets secret scanners spot a leaked token.
    "TOKEN_PREFIX": "et_",
    "AUTO_REFRESH": False,
}
# knox's own table is never used (core.ApiToken takes its place): no migration creates it.
MIGRATION_MODULES = {"knox": None}
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
if not 1 <= API_TOKEN_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("API_TOKEN_DAYS must be between 1 and API_TOKEN_MAX_DAYS.")

SPECTACULAR_SETTINGS = {
    "TITLE": "Engagement Tracker API",
    "DESCRIPTION": (
        "Record military engagements between partner nations and organizations, and read the "
        "assessment scores computed from them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would send the schema's address to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.nullable_references",
        "core.api.schema.add_missing_examples",
    ],
    # Choice sets sharing a field name (status, kind ...) get names of their own instead of hashed ones.
    "ENUM_NAME_OVERRIDES": {
        "EngagementStatusEnum": "engagements.choices.Status",
        "MembershipStatusEnum": "organizations.choices.MembershipStatus",
        "OrganizationKindEnum": "organizations.choices.OrganizationKind",
        "ParticipantRoleEnum": "engagements.choices.ParticipantRole",
        "WarningKindEnum": "engagements.choices.WarningKind",
        "ChangeActionEnum": "engagements.choices.ChangeAction",
        "NotificationKindEnum": "notifications.choices.NotificationKind",
        "NotificationDeliveryEnum": "notifications.choices.Delivery",
    },
}

# Outgoing webhooks go only to these host names (comma-separated); empty allows none (webhooks/rules.py).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
# The first retry of a failed delivery waits this long (then twice as long each time, 5 attempts in all).
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 10)

# E-mail (notifications): EMAIL_URL as in config/email.py; the console in debug, SMTP on localhost otherwise.
globals().update(email_settings(os.environ.get("EMAIL_URL", ""), debug=DEBUG))
DEFAULT_FROM_EMAIL = os.environ.get("EMAIL_FROM", "Engagement Tracker <tracker@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address people reach the application at, for the links in e-mails.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")

# The unit that owns engagements nobody assigned (those that existed before units, and new ones an admin
# creates without naming a unit); a migration creates it if missing (core.Unit, engagements/rules.py).
DEFAULT_UNIT_CODE = os.environ.get("DEFAULT_UNIT_CODE", "HQ")
DEFAULT_UNIT_NAME = os.environ.get("DEFAULT_UNIT_NAME", "Headquarters")

# Celery: the broker decides. Unset means every task runs eagerly in-process (embedded mode).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 15 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 20 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message a worker took but never acknowledged (the worker died) goes back to the queue after this long.
# It must exceed the longest task and retry countdown; the fault tests shorten it to see a redelivery.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_TASK_IGNORE_RESULT = True
# The chord that finishes a fanned-out run counts its parts' results here (the broker's Redis by default).
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL) or None
CELERY_RESULT_EXPIRES = 24 * 3600
# A run of this many quarters or more is split into one task per quarter that the workers share
# (assessments/services/fanout.py); on a broker and PostgreSQL only.
ASSESSMENT_FANOUT_MIN_QUARTERS = env_int("ASSESSMENT_FANOUT_MIN_QUARTERS", 8)
# Attempts of a part after the first, on transient errors (backoff 2 s doubling, at most 2 min).
ASSESSMENT_PART_MAX_RETRIES = env_int("ASSESSMENT_PART_MAX_RETRIES", 6)
# Seconds a part waits for its quarter's lock (another run writing it) before it retries later.
ASSESSMENT_PART_LOCK_WAIT = env_int("ASSESSMENT_PART_LOCK_WAIT", 30)
# A data-change run (queued by a save) is sent to the workers this many seconds after the first change it
# takes in: the saves of those seconds join it (assessments/services/runs.py, scores_recompute_request), so a
# planner saving every few seconds makes one run every few seconds, not one per save. The scores show a save
# after this delay plus the run (README, "Scores after a save"). 0: sent at once. Tests send at once.
ASSESSMENT_DATA_CHANGE_DELAY = env_int("ASSESSMENT_DATA_CHANGE_DELAY", 0 if TESTING else 5)
# PostgreSQL parallel workers per query for data-change runs (max_parallel_workers_per_gather in the run's
# session; -1: the server's setting). 0 keeps a run started by saves on one core (its activity counted after its
# scores, not beside them: assessments.services.runs.parallel_workers_of): on a small machine a run with parallel
# workers takes every core from the pages and the saves for its duration. Runs asked for by
# people, the nightly run and backfills keep the server's setting.
ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS = env_int("ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS", 0)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "core.tasks.record_worker_heartbeat",
        "schedule": crontab(minute="*"),
    },
    # Runs that could not be sent to the workers (the broker was down) are sent again once it is back.
    "assessments-resend-waiting": {
        "task": "assessments.tasks.resend_waiting_runs",
        "schedule": crontab(minute="*"),
    },
    # API Idempotency-Keys are kept 24 hours (core/api/writes.py).
    "idempotency-purge": {
        "task": "core.tasks.purge_idempotency_keys",
        "schedule": crontab(minute=17),
    },
    # Notifications: report reminders and the daily digests each morning; refused e-mails tried again.
    "notifications-report-reminders": {
        "task": "notifications.tasks.create_report_reminders",
        "schedule": crontab(hour=5, minute=30),
    },
    "notifications-daily-digests": {
        "task": "notifications.tasks.send_daily_digests",
        "schedule": crontab(hour=6, minute=0),
    },
    "notifications-retry-emails": {
        "task": "notifications.tasks.retry_queued_emails",
        "schedule": crontab(minute="*/10"),
    },
    # Scores of the current and previous quarter for every partner, nightly (times are UTC).
    "assessments-nightly": {
        "task": "assessments.tasks.run_nightly_assessment",
        "schedule": crontab(hour=2, minute=0),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
