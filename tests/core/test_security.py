"""Security defaults: the Content-Security-Policy, login lock-out, session lifetime."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)


def test_pages_send_a_strict_content_security_policy(client_for, viewer):
    response = client_for(viewer).get("/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/api/docs/", "/api/redoc/", "/partners/", "/organizations/NATO/"]
)
def test_no_page_has_an_inline_script_or_another_host(client_for, viewer, reference_data, path):
    html = client_for(viewer).get(path).content.decode()
    assert not INLINE_SCRIPT.search(html), path
    assert not re.search(r"""(src|href)=["']https?://""", html), path


def test_swagger_ui_loads_its_start_up_script_from_us(client_for, viewer):
    client = client_for(viewer)
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui-bundle.js" in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_repeated_failed_logins_lock_the_account(settings, make_user):
    settings.AXES_ENABLED = True
    make_user("target", "planner")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": "target", "password": "wrong"})
        assert response.status_code == 200
    assert client.post("/accounts/login/", {"username": "target", "password": "wrong"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": "target", "password": "pw-for-tests-123"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked.
    make_user("someone-else", "viewer")
    assert (
        client.post("/accounts/login/", {"username": "someone-else", "password": "pw-for-tests-123"}).status_code == 302
    )


def test_token_endpoint_counts_failures_too(settings, make_user):
    settings.AXES_ENABLED = True
    make_user("integrator9", "planner")
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert client.post("/api/v1/auth/token/", {"username": "integrator9", "password": "bad"}).status_code == 400
    response = client.post("/api/v1/auth/token/", {"username": "integrator9", "password": "pw-for-tests-123"})
    assert response.status_code in (400, 403, 429)
    assert "token" not in response.json()
    make_user("integrator10", "planner")
    fresh = client.post("/api/v1/auth/token/", {"username": "integrator10", "password": "pw-for-tests-123"})
    assert fresh.status_code == 200 and fresh.json()["token"]


def test_sessions_expire_after_a_working_day(client_for, viewer, settings):
    client = client_for(viewer)
    client.get("/")
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert client.session.get_expiry_age() <= 8 * 3600


def test_changing_the_password_ends_other_sessions(client_for, viewer):
    client = client_for(viewer)
    assert client.get("/").status_code == 200
    viewer.set_password("a-new-password-456")
    viewer.save()
    assert client.get("/").status_code == 302
