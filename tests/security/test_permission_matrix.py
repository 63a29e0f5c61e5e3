"""The roles table of DESIGN.md, proven for every page and every API operation.

The URLs come from the URLconf and the operations from the OpenAPI schema, so a new page or operation
without a row in the tables below fails `test_every_route_has_a_rule`. Each (route, role) is one case:
anonymous users go to the login page (pages) or get 401 (API); a role the table allows passes the
permission check (any answer but 401/403/404 and the login redirect); a role it does not allow gets 403.
Writes are sent with an empty body: an allowed role then gets a validation answer, so nothing is changed.
"""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core.services import api_token_create
from engagements import services as engagement_services

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "analyst", "planner", "admin"]
PUBLIC, READ, PLAN, ANALYSE, ADMIN = "public", "read", "plan", "analyse", "admin"
# The user's own account (password, API tokens): anyone signed in, whatever their role, and only their own.
SELF = "self"
ALLOWED = {
    PUBLIC: set(ROLES),
    SELF: {"viewer", "analyst", "planner", "admin"},
    READ: {"viewer", "analyst", "planner", "admin"},
    PLAN: {"planner", "admin"},
    ANALYSE: {"analyst", "admin"},
    ADMIN: {"admin"},
}

# Pages: URL name -> {method: rule}.
PAGES = {
    "home": {"GET": READ},
    "healthz": {"GET": PUBLIC},
    "login": {"GET": PUBLIC},
    "logout": {"POST": READ},
    "account-password": {"GET": SELF, "POST": SELF},
    "account-tokens": {"GET": SELF, "POST": SELF},
    "account-token-revoke": {"POST": SELF},
    "set_language": {"POST": PUBLIC},
    "audit": {"GET": ADMIN},
    "partners:list": {"GET": READ},
    "partners:detail": {"GET": READ},
    "organizations:list": {"GET": READ},
    "organizations:detail": {"GET": READ},
    "engagements:list": {"GET": READ},
    "engagements:detail": {"GET": READ},
    "engagements:calendar": {"GET": READ},
    "engagements:series_list": {"GET": READ},
    "engagements:series_detail": {"GET": READ},
    "engagements:create": {"GET": PLAN, "POST": PLAN},
    "engagements:edit": {"GET": PLAN, "POST": PLAN},
    "engagements:status": {"POST": PLAN},
    "engagements:after_action": {"GET": PLAN, "POST": PLAN},
    "engagements:delete": {"GET": PLAN, "POST": PLAN},
    "engagements:import": {"GET": PLAN, "POST": PLAN},
    "engagements:import_template": {"GET": PLAN},
    "assessments:overview": {"GET": READ},
    "assessments:partner": {"GET": READ},
    "assessments:organization": {"GET": READ},
    "assessments:region": {"GET": READ},
    "assessments:methodology": {"GET": READ},
    "assessments:runs": {"GET": READ},
    "assessments:run": {"GET": READ},
    "assessments:run-status": {"GET": READ},
    "assessments:recompute": {"POST": ANALYSE},
    "assessments:alert-acknowledge": {"POST": ANALYSE},
    "assessments:objectives": {"GET": READ},
    "assessments:objective": {"GET": READ},
    "assessments:indicator": {"GET": READ},
    "assessments:objective-create": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:objective-update": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:objective-delete": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:indicator-create": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:indicator-update": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:indicator-delete": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:measurement-create": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:measurement-update": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:measurement-delete": {"GET": ANALYSE, "POST": ANALYSE},
    "schema": {"GET": READ},
    "swagger-ui": {"GET": READ},
    "redoc": {"GET": READ},
}

_WRITE = {"put": PLAN, "patch": PLAN, "delete": PLAN}
_ANALYST_WRITE = {"put": ANALYSE, "patch": ANALYSE, "delete": ANALYSE}
# API: schema path -> {method: rule}.
API = {
    "/api/v1/auth/token/": {"post": PUBLIC},
    "/api/v1/auth/tokens/": {"get": SELF},
    "/api/v1/auth/tokens/{id}/": {"delete": SELF},
    "/api/v1/partners/": {"get": READ},
    "/api/v1/partners/{iso3}/": {"get": READ},
    "/api/v1/organizations/": {"get": READ},
    "/api/v1/organizations/{acronym}/": {"get": READ},
    "/api/v1/organizations/{acronym}/members/": {"get": READ},
    "/api/v1/engagements/": {"get": READ, "post": PLAN},
    "/api/v1/engagements/{id}/": {"get": READ, **_WRITE},
    "/api/v1/engagements/{id}/status/": {"post": PLAN},
    "/api/v1/engagements/{id}/after-action/": {"put": PLAN, "post": PLAN},
    "/api/v1/engagements/import/": {"post": PLAN},
    "/api/v1/series/": {"get": READ, "post": PLAN},
    "/api/v1/series/{slug}/": {"get": READ},
    "/api/v1/changes/": {"get": READ},
    "/api/v1/assessments/scores/": {"get": READ},
    "/api/v1/assessments/scores/{iso3}/{period}/explain/": {"get": READ},
    "/api/v1/engagements/export/": {"get": READ},
    "/api/v1/assessments/alerts/": {"get": READ},
    "/api/v1/assessments/alerts/{id}/": {"get": READ},
    "/api/v1/assessments/alerts/{id}/acknowledge/": {"post": ANALYSE},
    "/api/v1/assessments/runs/": {"get": READ, "post": ANALYSE},
    "/api/v1/assessments/runs/{id}/": {"get": READ},
    "/api/v1/assessments/objectives/": {"get": READ, "post": ANALYSE},
    "/api/v1/assessments/objectives/{id}/": {"get": READ, **_ANALYST_WRITE},
    "/api/v1/assessments/indicators/": {"get": READ, "post": ANALYSE},
    "/api/v1/assessments/indicators/{id}/": {"get": READ, **_ANALYST_WRITE},
    "/api/v1/assessments/measurements/": {"get": READ, "post": ANALYSE},
    "/api/v1/assessments/measurements/{id}/": {"get": READ, **_ANALYST_WRITE},
}


def _page_routes() -> dict[str, str]:
    found = {}

    def walk(patterns, namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if str(entry.pattern).startswith(("admin/", "api/v1/")):
                    continue
                walk(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                found[namespace + entry.name] = str(entry.pattern)

    walk(get_resolver().url_patterns)
    return found


def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_route_has_a_rule():
    pages = {name for name in _page_routes() if not name.startswith("api")}
    assert pages - set(PAGES) == set(), "pages without a rule in PAGES"
    assert set(PAGES) - pages == set(), "rules for pages that no longer exist"
    operations = {(path, method) for path, ops in _schema()["paths"].items() for method in ops}
    ruled = {(path, method) for path, ops in API.items() for method in ops}
    assert operations - ruled == set(), "API operations without a rule in API"
    assert ruled - operations == set(), "rules for API operations that no longer exist"


@pytest.fixture
def world(reference_data, make_user, django_user_model):
    from assessments.models import Alert, Indicator, Measurement, Objective, PartnerScore
    from assessments.services import assessment_run_request
    from assessments.services.runs import scoring_model_active
    from partners.models import PartnerNation

    users = {role: make_user(f"matrix-{role}", role, is_staff=(role == "admin")) for role in ROLES[1:]}
    planner = users["planner"]
    engagement = engagement_services.engagement_create(
        created_by=planner,
        title="Matrix exercise",
        engagement_type="exercise",
        domain="land",
        status="completed",
        start_date=datetime.date(2025, 2, 3),
        end_date=datetime.date(2025, 2, 7),
        host_country="SEN",
        participants=[{"partner": "SEN", "role": "host", "personnel": 30}, {"partner": "FRA", "personnel": 12}],
    ).engagement
    series = engagement_services.series_create(name="Matrix series", user=planner)
    partner = PartnerNation.objects.get(iso3="SEN")
    objective = Objective.objects.create(partner=partner, line_of_effort="maritime_security", title="Patrols")
    indicator = Indicator.objects.create(
        objective=objective, name="Patrol days", unit="days", baseline_value=2, target_value=20
    )
    measurement = Measurement.objects.create(indicator=indicator, date=datetime.date(2025, 1, 15), value=8)
    run = assessment_run_request(trigger="manual", periods=["2025-Q1"], enqueue=False)
    model = scoring_model_active()
    PartnerScore.objects.create(
        partner=partner,
        period=datetime.date(2025, 1, 1),
        period_end=datetime.date(2025, 3, 31),
        scoring_model=model,
        overall=50,
        run=run,
        computed_at=datetime.datetime(2025, 4, 1, tzinfo=datetime.UTC),
    )
    alert = Alert.objects.create(
        partner=partner,
        period=datetime.date(2025, 1, 1),
        scoring_model=model,
        overall=40,
        previous_overall=55,
        delta_overall=-15,
    )
    return {
        "users": users,
        "pk": engagement.pk,
        "iso3": "SEN",
        "acronym": "ECOWAS",
        "slug": series.slug,
        "region": "africa",
        "run_id": run.pk,
        "alert": alert.pk,
        "objective": objective.pk,
        "indicator": indicator.pk,
        "measurement": measurement.pk,
        "fmt": "csv",
        "period": "2025-Q1",
        "id": None,
    }


def _page_url(name: str, world: dict) -> str:
    route = _page_routes()[name]
    kwargs = {}
    for converter_name in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if converter_name == "pk":
            kwargs["pk"] = {
                "assessments:alert-acknowledge": world["alert"],
                "assessments:objective": world["objective"],
                "assessments:objective-update": world["objective"],
                "assessments:objective-delete": world["objective"],
                "assessments:indicator": world["indicator"],
                "assessments:indicator-update": world["indicator"],
                "assessments:indicator-delete": world["indicator"],
                "assessments:measurement-update": world["measurement"],
                "assessments:measurement-delete": world["measurement"],
                "account-token-revoke": world.get("token", world["pk"]),
            }.get(name, world["pk"])
        elif name == "assessments:region":
            kwargs[converter_name] = world["region"]
        else:
            kwargs[converter_name] = world[converter_name]
    return reverse(name, kwargs=kwargs)


def _classify_page(response) -> str:
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    if response.status_code == 401 or ("login/?next=" in location):
        return "login"
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 404:
        return "missing"
    return "allowed"


PAGE_CASES = [(name, method, role) for name, methods in PAGES.items() for method in methods for role in ROLES]


@pytest.mark.parametrize("name, method, role", PAGE_CASES)
def test_page_permissions(client, world, name, method, role):
    rule = PAGES[name][method]
    if role != "anonymous":
        client.force_login(world["users"][role])
        # The signed-in user's own token (another's is not found: tests/core/test_account.py).
        world = {**world, "token": api_token_create(user=world["users"][role])[0].pk}
    url = _page_url(name, world)
    response = client.get(url) if method == "GET" else client.post(url, {})
    outcome = _classify_page(response)
    if role in ALLOWED[rule]:
        assert outcome == "allowed", (method, url, role, response.status_code)
    elif role == "anonymous":
        assert outcome == "login", (method, url, response.status_code)
    else:
        assert outcome == "forbidden", (method, url, role, response.status_code)


API_CASES = [(path, method, role) for path, methods in API.items() for method in methods for role in ROLES]


def _api_url(path: str, world: dict) -> str:
    def value(match):
        key = match.group(1)
        if key == "id":
            if "/auth/tokens/" in path:
                return str(world.get("token", world["pk"]))
            if "/runs/" in path:
                return str(world["run_id"])
            if "/alerts/" in path:
                return str(world["alert"])
            for kind in ("objective", "indicator", "measurement"):
                if f"/{kind}s/" in path:
                    return str(world[kind])
            return str(world["pk"])
        return str(world[key])

    return re.sub(r"\{(\w+)\}", value, path)


@pytest.mark.parametrize("path, method, role", API_CASES)
def test_api_permissions(world, path, method, role):
    rule = API[path][method]
    client = APIClient()
    if role != "anonymous":
        token, secret = api_token_create(user=world["users"][role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
        world = {**world, "token": token.pk}
    url = _api_url(path, world)
    response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
    code = response.status_code
    if role in ALLOWED[rule]:
        assert code not in (401, 403, 404), (method, url, role, code, response.content[:200])
    elif role == "anonymous":
        assert code == 401, (method, url, code)
    else:
        assert code == 403, (method, url, role, code)


# --- restricted engagements never reach viewers ------------------------------------------------------------

SECRET_PREFIX = "Restricted-op-"
SECRET = SECRET_PREFIX + uuid.uuid4().hex[:8]


def test_viewers_never_see_a_restricted_engagement_anywhere(client, world):
    planner, viewer, analyst = world["users"]["planner"], world["users"]["viewer"], world["users"]["analyst"]
    secret = engagement_services.engagement_create(
        created_by=planner,
        title=SECRET,
        engagement_type="advisory_mission",
        domain="joint",
        status="in_progress",
        start_date=datetime.date(2025, 2, 1),
        end_date=datetime.date(2025, 3, 30),
        host_country="SEN",
        sensitivity="restricted",
        participants=[{"partner": "SEN", "personnel": 4}],
        description=SECRET,
    ).engagement
    world = {**world, "pk": secret.pk}
    get_pages = [name for name, methods in PAGES.items() if "GET" in methods and methods["GET"] == READ]
    urls = [_page_url(name, world) for name in get_pages]
    urls += [f"{u}?export=csv" for u in ("/engagements/", "/assessments/")]
    urls += ["/engagements/?q=" + SECRET_PREFIX, "/engagements/calendar/?month=2025-02", "/engagements/?export=xlsx"]
    api = [_api_url(p, world) for p, methods in API.items() if methods.get("get") == READ]
    api += ["/api/v1/engagements/?q=" + SECRET_PREFIX, "/api/v1/changes/?since=2000-01-01T00:00:00Z"]

    client.force_login(viewer)
    for url in urls:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET.encode() not in body, url
        if url.startswith(f"/engagements/{secret.pk}/"):
            assert response.status_code == 404
    viewer_api = APIClient()
    viewer_api.force_authenticate(viewer)
    for url in api:
        response = viewer_api.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET.encode() not in body, url
        if url.rstrip("/").endswith(f"/engagements/{secret.pk}"):
            assert response.status_code == 404
    listed = viewer_api.get("/api/v1/engagements/").json()
    analyst_api = APIClient()
    analyst_api.force_authenticate(analyst)
    assert analyst_api.get("/api/v1/engagements/").json()["count"] == listed["count"] + 1
    analyst_client = client
    analyst_client.force_login(analyst)
    assert SECRET in analyst_client.get("/engagements/").content.decode()
