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
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core.services import api_token_create
from engagements import services as engagement_services

pytestmark = pytest.mark.django_db

# ``other_planner`` is a planner of another unit than the one owning the world's engagements (the unit scope:
# they create in their own unit, never write ours); ``approver`` approves in the engagements' unit.
ROLES = ["anonymous", "viewer", "analyst", "planner", "other_planner", "approver", "admin"]
PUBLIC, READ, PLAN, ANALYSE, ADMIN = "public", "read", "plan", "analyse", "admin"
# Writes that name no existing engagement (create, import, series): any planner with a unit.
PLAN_NEW = "plan_new"
# Four-eyes approval of an engagement of the approver's units.
APPROVE = "approve"
# The user's own account (password, API tokens): anyone signed in, whatever their role, and only their own.
SELF = "self"
# The calendar feed: the secret in its address stands for its owner (a calendar program has no session), so
# whoever holds it reads what the owner may read; a wrong, reset or deactivated user's secret is a 404 for
# everyone (test_a_wrong_feed_secret_is_missing_for_everyone below). The world's secret is the viewer's.
FEED = "feed"
_SIGNED_IN = {"viewer", "analyst", "planner", "other_planner", "approver", "admin"}
ALLOWED = {
    PUBLIC: set(ROLES),
    FEED: set(ROLES),
    SELF: _SIGNED_IN,
    READ: _SIGNED_IN,
    PLAN: {"planner", "admin"},
    PLAN_NEW: {"planner", "other_planner", "admin"},
    APPROVE: {"approver", "admin"},
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
    "notifications:inbox": {"GET": SELF},
    "notifications:read-all": {"POST": SELF},
    "notifications:settings": {"GET": SELF, "POST": SELF},
    "notifications:follow": {"POST": SELF},
    "notifications:unfollow": {"POST": SELF},
    "notifications:open": {"POST": SELF},
    "notifications:read": {"POST": SELF},
    "partners:list": {"GET": READ},
    "partners:detail": {"GET": READ},
    "organizations:list": {"GET": READ},
    "organizations:detail": {"GET": READ},
    "engagements:list": {"GET": READ},
    "engagements:detail": {"GET": READ},
    "engagements:calendar": {"GET": READ},
    "engagements:calendar_feed": {"GET": FEED},
    "engagements:calendar_feed_reset": {"POST": SELF},
    "engagements:series_list": {"GET": READ},
    "engagements:series_detail": {"GET": READ},
    "engagements:create": {"GET": PLAN_NEW, "POST": PLAN_NEW},
    "engagements:edit": {"GET": PLAN, "POST": PLAN},
    "engagements:status": {"POST": PLAN},
    "engagements:after_action": {"GET": PLAN, "POST": PLAN},
    "engagements:delete": {"GET": PLAN, "POST": PLAN},
    "engagements:finding_dismiss": {"POST": PLAN},
    # Saved filters: anyone signed in keeps their own; applying or deleting is tried on the user's own one.
    "engagements:saved_filter_create": {"GET": READ, "POST": READ},
    "engagements:saved_filter": {"GET": SELF},
    "engagements:saved_filter_delete": {"POST": SELF},
    "engagements:request_approval": {"POST": PLAN},
    "engagements:approve": {"POST": APPROVE},
    "engagements:refuse": {"POST": APPROVE},
    "engagements:import": {"GET": PLAN_NEW, "POST": PLAN_NEW},
    "engagements:import_template": {"GET": PLAN_NEW},
    "units:list": {"GET": READ},
    "units:detail": {"GET": READ},
    "units:create": {"GET": ADMIN, "POST": ADMIN},
    "units:edit": {"GET": ADMIN, "POST": ADMIN},
    "assessments:overview": {"GET": READ},
    "assessments:partner": {"GET": READ},
    "assessments:compare": {"GET": READ},
    "assessments:network": {"GET": READ},
    "assessments:organization": {"GET": READ},
    "assessments:region": {"GET": READ},
    "assessments:methodology": {"GET": READ},
    "assessments:runs": {"GET": READ},
    "assessments:run": {"GET": READ},
    "assessments:run-status": {"GET": READ},
    "assessments:recompute": {"POST": ANALYSE},
    "assessments:alerts": {"GET": READ, "POST": ANALYSE},
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
    # What-if scoring models: analysts and admins draft and preview, admins activate; viewers and planners neither.
    "assessments:scoring-models": {"GET": ANALYSE},
    "assessments:scoring-model-create": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:scoring-model": {"GET": ANALYSE},
    "assessments:scoring-model-edit": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:scoring-model-delete": {"GET": ANALYSE, "POST": ANALYSE},
    "assessments:scoring-model-preview": {"POST": ANALYSE},
    "assessments:scoring-model-activate": {"GET": ADMIN, "POST": ADMIN},
    "webhooks:list": {"GET": ADMIN},
    "webhooks:create": {"GET": ADMIN, "POST": ADMIN},
    "webhooks:detail": {"GET": ADMIN},
    "webhooks:edit": {"GET": ADMIN, "POST": ADMIN},
    "webhooks:delete": {"GET": ADMIN, "POST": ADMIN},
    "webhooks:test": {"POST": ADMIN},
    "webhooks:redeliver": {"POST": ADMIN},
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
    "/api/v1/engagements/": {"get": READ, "post": PLAN_NEW},
    "/api/v1/engagements/{id}/": {"get": READ, **_WRITE},
    "/api/v1/engagements/{id}/status/": {"post": PLAN},
    "/api/v1/engagements/{id}/after-action/": {"put": PLAN, "post": PLAN},
    "/api/v1/engagements/bulk/": {"post": PLAN_NEW},
    "/api/v1/engagements/saved-filters/": {"get": READ, "post": READ},
    "/api/v1/engagements/saved-filters/{id}/": {"get": SELF, "put": SELF, "patch": SELF, "delete": SELF},
    "/api/v1/engagements/availability/": {"get": READ},
    "/api/v1/engagements/{id}/findings/": {"get": READ},
    "/api/v1/engagements/{id}/findings/dismiss/": {"post": PLAN},
    "/api/v1/engagements/{id}/approve/": {"post": APPROVE},
    "/api/v1/engagements/{id}/refuse/": {"post": APPROVE},
    "/api/v1/engagements/{id}/request-approval/": {"post": PLAN},
    "/api/v1/engagements/{id}/approvals/": {"get": READ},
    "/api/v1/engagements/import/": {"post": PLAN_NEW},
    "/api/v1/series/": {"get": READ, "post": PLAN_NEW},
    "/api/v1/units/": {"get": READ, "post": ADMIN},
    "/api/v1/units/{code}/": {"get": READ, "put": ADMIN, "patch": ADMIN},
    "/api/v1/series/{slug}/": {"get": READ},
    "/api/v1/changes/": {"get": READ},
    "/api/v1/calendar-feed/": {"get": SELF, "post": SELF},
    "/api/v1/assessments/scores/": {"get": READ},
    "/api/v1/assessments/compare/": {"get": READ},
    "/api/v1/assessments/network/": {"get": READ},
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
    "/api/v1/assessments/scoring-models/": {"get": ANALYSE, "post": ANALYSE},
    "/api/v1/assessments/scoring-models/{id}/": {"get": ANALYSE, **_ANALYST_WRITE},
    "/api/v1/assessments/scoring-models/{id}/preview/": {"get": ANALYSE, "post": ANALYSE},
    "/api/v1/assessments/scoring-models/{id}/activate/": {"post": ADMIN},
    "/api/v1/webhooks/": {"get": ADMIN, "post": ADMIN},
    "/api/v1/webhooks/{id}/": {"get": ADMIN, "put": ADMIN, "patch": ADMIN, "delete": ADMIN},
    "/api/v1/webhooks/{id}/deliveries/": {"get": ADMIN},
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/": {"post": ADMIN},
    "/api/v1/webhooks/{id}/test/": {"post": ADMIN},
    "/api/v1/notifications/": {"get": SELF},
    "/api/v1/notifications/{id}/": {"get": SELF},
    "/api/v1/notifications/{id}/read/": {"post": SELF},
    "/api/v1/notifications/read-all/": {"post": SELF},
    "/api/v1/notifications/preferences/": {"get": SELF, "put": SELF},
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


# The canary: a restricted engagement whose every identifying string is unique, so that finding any of them
# in an answer a viewer gets is a leak. Its dates straddle February 2025 (calendar grids show day numbers,
# never ISO dates) and it counts in SEN's 2025-Q1 score, so the score explanation must account for it.
CANARY = "Canary-" + uuid.uuid4().hex[:10]
CANARY_PLACE = "Canary-Cove-" + uuid.uuid4().hex[:10]
CANARY_START, CANARY_END = datetime.date(2025, 1, 8), datetime.date(2025, 3, 19)


def _build_world() -> dict:
    from django.conf import settings
    from django.contrib.auth.models import Group, User

    from assessments.models import Alert, Indicator, Measurement, Objective, PartnerScore
    from assessments.services import assessment_run_request
    from assessments.services.runs import scoring_model_active
    from core.models import Unit
    from core.services import roles_sync
    from partners.models import PartnerNation

    roles_sync()
    ours = Unit.objects.get_or_create(code=settings.DEFAULT_UNIT_CODE, defaults={"name": "Ours"})[0]
    theirs = Unit.objects.create(code="MATRIX-OTHER", name="Another unit")
    users = {}
    for role in ROLES[1:]:
        users[role] = User.objects.create_user(
            username=f"matrix-{role}", password="pw-for-tests-123", is_staff=(role == "admin")
        )
        users[role].groups.add(Group.objects.get(name="planner" if role == "other_planner" else role))
        if role in ("planner", "approver"):
            ours.members.add(users[role])
        elif role == "other_planner":
            theirs.members.add(users[role])
    planner = users["planner"]
    series = engagement_services.series_create(name="Matrix series", user=planner)
    engagement = engagement_services.engagement_create(
        created_by=planner,
        title="Matrix exercise",
        engagement_type="exercise",
        domain="land",
        status="completed",
        start_date=datetime.date(2025, 2, 3),
        end_date=datetime.date(2025, 2, 7),
        host_country="SEN",
        series=series.slug,
        participants=[{"partner": "SEN", "role": "host", "personnel": 30}, {"partner": "FRA", "personnel": 12}],
    ).engagement
    canary = engagement_services.engagement_create(
        created_by=planner,
        title=CANARY,
        engagement_type="advisory_mission",
        domain="joint",
        status="completed",
        start_date=CANARY_START,
        end_date=CANARY_END,
        host_country="SEN",
        location_name=CANARY_PLACE,
        sensitivity="restricted",
        series=series.slug,
        organizations=["ECOWAS"],
        participants=[{"partner": "SEN", "role": "lead", "personnel": 4}, {"partner": "GHA", "personnel": 2}],
        description=CANARY,
        after_action={
            "summary": CANARY,
            "interoperability_rating": 4,
            "capacity_rating": 2,
            "trust_rating": 5,
        },
    ).engagement
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
    from assessments.services.whatif import scoring_model_draft_create, scoring_model_draft_initial

    draft = scoring_model_draft_create(user=users["analyst"], name="Matrix draft", **scoring_model_draft_initial())
    from webhooks.models import Webhook, WebhookDelivery

    webhook = Webhook.objects.create(
        owner=users["admin"], url="https://hooks.example.org/in", events=["run.finished"], secret="x" * 20
    )
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="run.finished", payload={"id": "x"})
    return {
        "users": users,
        "secret": engagement_services.calendar_feed_reset(user=users["viewer"]),
        "analyst_secret": engagement_services.calendar_feed_reset(user=users["analyst"]),
        "webhook": webhook.pk,
        "delivery_pk": delivery.pk,
        "delivery_id": delivery.pk,
        "pk": engagement.pk,
        "canary": canary.pk,
        "canary_reference": canary.reference,
        "other": canary.pk,  # a finding's other engagement (dismissing)
        "iso3": "SEN",
        "acronym": "ECOWAS",
        "slug": series.slug,
        "region": "africa",
        "run_id": run.pk,
        "alert": alert.pk,
        "objective": objective.pk,
        "indicator": indicator.pk,
        "measurement": measurement.pk,
        "draft": draft.pk,
        "fmt": "csv",
        "period": "2025-Q1",
        "id": None,
        "code": settings.DEFAULT_UNIT_CODE,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module (hundreds of cases read it) inside a transaction rolled back at the end; each
    test runs in a savepoint within it, as usual, so nothing a test does reaches the next one."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


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
                **{
                    f"assessments:scoring-model{suffix}": world["draft"]
                    for suffix in ("", "-edit", "-delete", "-preview", "-activate")
                },
                "account-token-revoke": world.get("token", world["pk"]),
                "engagements:saved_filter": world.get("saved_filter", world["pk"]),
                "engagements:saved_filter_delete": world.get("saved_filter", world["pk"]),
                "notifications:open": world.get("notification", world["pk"]),
                "notifications:read": world.get("notification", world["pk"]),
            }.get(name, world["webhook"] if name.startswith("webhooks:") else world["pk"])
        elif name == "assessments:region":
            kwargs[converter_name] = world["region"]
        else:
            kwargs[converter_name] = world[converter_name]
    return reverse(name, kwargs=kwargs)


def _own_notification(user) -> int:
    """One of the signed-in user's own notifications (another's is not found: tests/notifications)."""
    from notifications.services import notifications_create

    notifications_create(kind="report_due", key="matrix", recipient_ids=[user.pk], title="Matrix", url="/")
    return user.notifications.get(key="matrix").pk


def _classify_page(response) -> str:
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    if response.status_code == 401 or ("login/?next=" in location):
        return "login"
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 404:
        return "missing"
    return "allowed"


def _own_saved_filter(user) -> int:
    return engagement_services.saved_filter_create(owner=user, name="Matrix filter", query="status=planned").pk


PAGE_CASES = [(name, method, role) for name, methods in PAGES.items() for method in methods for role in ROLES]


@pytest.mark.parametrize("name, method, role", PAGE_CASES)
def test_page_permissions(client, world, name, method, role):
    rule = PAGES[name][method]
    if role != "anonymous":
        client.force_login(world["users"][role])
        # The signed-in user's own token (another's is not found: tests/core/test_account.py) and saved filter
        # (another's private one is not found, a shared one not deleted: tests/engagements/test_list_views.py).
        world = {
            **world,
            "token": api_token_create(user=world["users"][role])[0].pk,
            "saved_filter": _own_saved_filter(world["users"][role]),
            "notification": _own_notification(world["users"][role]),
        }
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
            if "/saved-filters/" in path:
                return str(world.get("saved_filter", world["pk"]))
            if "/runs/" in path:
                return str(world["run_id"])
            if "/alerts/" in path:
                return str(world["alert"])
            if "/scoring-models/" in path:
                return str(world["draft"])
            if "/webhooks/" in path:
                return str(world["webhook"])
            if "/notifications/" in path:
                return str(world.get("notification", world["pk"]))
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
        world = {
            **world,
            "token": token.pk,
            "saved_filter": _own_saved_filter(world["users"][role]),
            "notification": _own_notification(world["users"][role]),
        }
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

# Every page and API read a viewer may make, with the world's keys; the engagement pages and API details also
# with the canary's id (they must answer 404). On top: exports in every format, every CSV table of the
# dashboards, searches that would match the canary, the calendar months it spans, and the change feed.
_DASHBOARD_TABLES = ["scores", "trend", "activity", "alerts", "movers", "regions", "organizations"]
_PARTNER_TABLES = ["engagements", "components", "indicators", "history"]
_GROUP_TABLES = ["scores", "trend"]
_COMPARE_TABLES = ["components", "trend", "shared"]
CANARY_PAGE_EXTRAS = [
    "/?home=1",
    "/engagements/?export=csv",
    "/engagements/?export=xlsx",
    "/engagements/?q={title}",
    "/engagements/?q={reference}",
    "/engagements/?q={place}",
    "/engagements/?partner=SEN,GHA&series={slug}&organization=ECOWAS",
    "/engagements/?sensitivity=restricted",
    "/engagements/?start_after=2025-01-01&start_before=2025-01-31&export=csv",
    "/engagements/calendar/?month=2025-01",
    "/engagements/calendar/?month=2025-02",
    "/engagements/calendar/?month=2025-03",
    "/assessments/?period=2025-Q1",
    *[f"/assessments/?period=2025-Q1&export=csv&table={t}" for t in _DASHBOARD_TABLES],
    "/assessments/partners/SEN/?period=2025-Q1",  # also the printed brief (the same page, printed)
    "/assessments/partners/GHA/?period=2025-Q1",
    *[f"/assessments/partners/SEN/?period=2025-Q1&export=csv&table={t}" for t in _PARTNER_TABLES],
    *[f"/assessments/organizations/ECOWAS/?period=2025-Q1&export=csv&table={t}" for t in _GROUP_TABLES],
    *[f"/assessments/regions/western-africa/?period=2025-Q1&export=csv&table={t}" for t in _GROUP_TABLES],
    "/assessments/compare/?partners=SEN,GHA&period=2025-Q1",
    *[f"/assessments/compare/?partners=SEN,GHA&period=2025-Q1&export=csv&table={t}" for t in _COMPARE_TABLES],
    "/assessments/network/?organization=ECOWAS&from=2025-Q1&to=2025-Q1",
    *[
        f"/assessments/network/?organization=ECOWAS&from=2025-Q1&to=2025-Q1&export=csv&table={t}"
        for t in ("edges", "nodes")
    ],
]
CANARY_API_EXTRAS = [
    "/api/v1/engagements/?q={title}",
    "/api/v1/engagements/?q={reference}",
    "/api/v1/engagements/?q={place}",
    "/api/v1/engagements/?partner=GHA&series={slug}",
    "/api/v1/engagements/?sensitivity=restricted",
    "/api/v1/engagements/{canary}/",
    "/api/v1/engagements/export/?file=csv",
    "/api/v1/engagements/export/?file=xlsx",
    "/api/v1/changes/?since=2000-01-01T00:00:00Z",
    "/api/v1/assessments/scores/GHA/2025-Q1/explain/",
    "/api/v1/assessments/scores/?partner=SEN,GHA",
    "/api/v1/assessments/compare/?partners=SEN,GHA&period=2025-Q1",
    "/api/v1/assessments/network/?organization=ECOWAS&from=2025-Q1&to=2025-Q1",
    # Not even "busy": the canary's partners and host on its dates are free for a viewer.
    "/api/v1/engagements/availability/?start=2025-01-10&end=2025-03-01&partner=GHA,SEN&host=SEN",
]
CANARY_PAGES = [name for name, methods in PAGES.items() if methods.get("GET") == READ]
# The change feed (with since), the comparison (with partners) and the network (with a scope) are in the extras.
CANARY_API = [
    path
    for path, methods in API.items()
    if methods.get("get") == READ
    and path
    not in (
        "/api/v1/changes/",
        "/api/v1/assessments/compare/",
        "/api/v1/assessments/network/",
        "/api/v1/engagements/availability/",
    )
]


def _canary_strings(world: dict) -> list[str]:
    """What must never reach a viewer: its title, reference, place and dates (ISO, as English pages write them)."""
    return [CANARY, world["canary_reference"], CANARY_PLACE, CANARY_START.isoformat(), CANARY_END.isoformat()]


def _fill(url: str, world: dict) -> str:
    """The URL with the world's keys; searches use parts of the canary's strings, since a page may echo the
    search itself (``q=title`` matches the title, and the answer's search box holds the same words)."""
    return url.format(
        title=CANARY.split("-", 1)[1],
        place=CANARY_PLACE.rsplit("-", 1)[1],
        reference=world["canary_reference"].split("-", 1)[1],
        slug=world["slug"],
        canary=world["canary"],
    )


def _text(response) -> str:
    """An answer's text, whatever its form: a page, JSON, a streamed CSV, or the cells of an XLSX workbook."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":  # an XLSX workbook is a zip: read its cells
        import io

        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            " ".join("" if v is None else str(v) for v in row)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
        )
    return body.decode("utf-8", errors="replace")


def _assert_no_canary(text: str, world: dict, url: str) -> None:
    found = [s for s in _canary_strings(world) if s in text]
    assert not found, f"{url} tells a viewer {found}"


@pytest.mark.parametrize("name", CANARY_PAGES)
def test_no_page_tells_a_viewer_of_a_restricted_engagement(client, world, name):
    client.force_login(world["users"]["viewer"])
    url = _page_url(name, world)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    _assert_no_canary(_text(response), world, url)
    if name.startswith("engagements:") and "<int:pk>" in _page_routes()[name]:
        url = _page_url(name, {**world, "pk": world["canary"]})
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        _assert_no_canary(_text(response), world, url)


@pytest.mark.parametrize("url", CANARY_PAGE_EXTRAS)
def test_no_export_search_or_dashboard_tells_a_viewer_of_a_restricted_engagement(client, world, url):
    client.force_login(world["users"]["viewer"])
    url = _fill(url, world)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    _assert_no_canary(_text(response), world, url)


@pytest.mark.parametrize("path", CANARY_API + CANARY_API_EXTRAS)
def test_no_api_answer_tells_a_viewer_of_a_restricted_engagement(world, path):
    api = APIClient()
    api.force_authenticate(world["users"]["viewer"])
    url = _api_url(path, world) if path in CANARY_API else _fill(path, world)
    response = api.get(url)
    _assert_no_canary(_text(response), world, url)
    if "{canary}" in path:
        assert response.status_code == 404
    else:
        assert response.status_code == 200, (url, response.status_code)


# The positive control: the canary is really there, written as the sweep looks for it, for those who may read it.
CANARY_SEEN_BY_ANALYSTS = [
    "/engagements/?q={title}",
    "/engagements/?export=csv",
    "/engagements/?export=xlsx",
    "/engagements/calendar/?month=2025-02",
    "/engagements/series/{slug}/",
    "/assessments/partners/SEN/?period=2025-Q1",
    "/assessments/partners/SEN/?period=2025-Q1&export=csv&table=engagements",
    "/api/v1/engagements/{canary}/",
    "/api/v1/assessments/scores/SEN/2025-Q1/explain/",
    "/assessments/compare/?partners=SEN,GHA&period=2025-Q1",
    "/assessments/compare/?partners=SEN,GHA&period=2025-Q1&export=csv&table=shared",
    "/api/v1/assessments/compare/?partners=SEN,GHA&period=2025-Q1",
    "/api/v1/engagements/availability/?start=2025-01-10&end=2025-03-01&partner=GHA,SEN&host=SEN",
]


@pytest.mark.parametrize("url", CANARY_SEEN_BY_ANALYSTS)
def test_analysts_see_the_canary_where_viewers_do_not(client, world, url):
    client.force_login(world["users"]["analyst"])
    url = _fill(url, world)
    text = _text(client.get(url))
    assert CANARY in text or world["canary_reference"] in text, url
    assert CANARY_START.isoformat() in text, url


def test_counts_leave_the_restricted_engagement_out_for_viewers(world):
    viewer, analyst = APIClient(), APIClient()
    viewer.force_authenticate(world["users"]["viewer"])
    analyst.force_authenticate(world["users"]["analyst"])
    slug = world["slug"]
    for url, count in [
        ("/api/v1/engagements/", lambda body: body["count"]),
        ("/api/v1/engagements/?partner=SEN", lambda body: body["count"]),
        (f"/api/v1/series/{slug}/", lambda body: body["iteration_count"]),
        ("/api/v1/series/", lambda body: next(r["iteration_count"] for r in body["results"] if r["slug"] == slug)),
        ("/api/v1/changes/?since=2000-01-01T00:00:00Z", lambda body: len({r["id"] for r in body["results"]})),
    ]:
        assert count(viewer.get(url).json()) == count(analyst.get(url).json()) - 1, url
    # The canary is the only engagement that pairs two ECOWAS members (SEN and GHA) in 2025-Q1.
    network = "/api/v1/assessments/network/?organization=ECOWAS&from=2025-Q1&to=2025-Q1"
    assert viewer.get(network).json()["edges"] == []
    assert [(e["partner"], e["other"], e["shared_engagements"]) for e in analyst.get(network).json()["edges"]] == [
        ("GHA", "SEN", 1)
    ]
    explained = viewer.get("/api/v1/assessments/scores/SEN/2025-Q1/explain/").json()
    assert [line["engagement_count"] for line in explained["restricted"]] == [1] * 6
    assert explained["engagement_count"] == len(explained["engagements"]) + 1


def test_a_wrong_feed_secret_is_missing_for_everyone(client, world):
    forged = world["secret"][:-4] + ("0000" if not world["secret"].endswith("0000") else "1111")
    url = reverse("engagements:calendar_feed", kwargs={"secret": forged})
    for role in ROLES:
        if role != "anonymous":
            client.force_login(world["users"][role])
        assert client.get(url).status_code == 404, role


def test_the_feed_tells_a_viewer_nothing_of_a_restricted_engagement(client, world, monkeypatch):
    from engagements import feeds

    monkeypatch.setattr(feeds, "FEED_PAST_DAYS", 36500)  # the canary's dates are in the feed's window
    for params in ("", "?partner=SEN,GHA", "?sensitivity=restricted", f"?series={world['slug']}"):
        viewer = client.get(reverse("engagements:calendar_feed", kwargs={"secret": world["secret"]}) + params)
        assert viewer.status_code == 200
        _assert_no_canary(_text(viewer), world, params)
        assert CANARY_START.strftime("%Y%m%d") not in _text(viewer)
    analyst = client.get(reverse("engagements:calendar_feed", kwargs={"secret": world["analyst_secret"]}))
    assert CANARY in _text(analyst) and f"DTSTART;VALUE=DATE:{CANARY_START:%Y%m%d}" in _text(analyst)
