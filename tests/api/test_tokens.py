"""API tokens: obtained with a password, issued and revoked by admins in the admin site."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_password_gives_a_token_that_works(make_user, reference_data):
    user = make_user("integrator2", "planner")
    response = APIClient().post(TOKEN_URL, {"username": "integrator2", "password": "pw-for-tests-123"}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=user).key == key
    assert with_token(key).get("/api/v1/engagements/").status_code == 200
    # The same token again, not a new one per call.
    assert APIClient().post(TOKEN_URL, {"username": "integrator2", "password": "pw-for-tests-123"}).json() == {
        "token": key
    }


def test_wrong_password_is_400_in_the_error_shape(make_user, reference_data):
    make_user("integrator2", "planner")
    response = APIClient().post(TOKEN_URL, {"username": "integrator2", "password": "nope"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"]["non_field_errors"]
    response = APIClient().post(TOKEN_URL, {}, format="json")
    assert set(response.json()["errors"]) == {"username", "password"}


def test_an_inactive_users_token_stops_working_at_once(make_user, reference_data):
    user = make_user("leaver", "planner")
    client = with_token(Token.objects.create(user=user).key)
    assert client.get("/api/v1/engagements/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/api/v1/engagements/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted.", "code": "authentication_failed"}


def test_admin_issues_and_revokes_a_token_in_the_admin_site(client, admin_user_role, make_user, reference_data):
    integrator = make_user("integrator2", "planner")
    client.force_login(admin_user_role)
    # The user is picked by search (autocomplete), not from a list of every account.
    form = client.get("/admin/authtoken/tokenproxy/add/")
    assert form.status_code == 200
    assert b"admin-autocomplete" in form.content
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "authtoken", "model_name": "tokenproxy", "field_name": "user", "term": "integ"},
    )
    assert [row["text"] for row in found.json()["results"]] == ["integrator2"]

    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": integrator.pk})
    assert response.status_code == 302
    key = Token.objects.get(user=integrator).key
    assert with_token(key).get("/api/v1/engagements/").status_code == 200
    listing = client.get("/admin/authtoken/tokenproxy/")
    assert b"integrator2" in listing.content

    response = client.post(f"/admin/authtoken/tokenproxy/{integrator.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=integrator).exists()
    assert with_token(key).get("/api/v1/engagements/").status_code == 401


def test_non_admins_cannot_manage_tokens(client, make_user, reference_data):
    staff_planner = make_user("staffplanner", "planner", is_staff=True)
    client.force_login(staff_planner)
    assert client.get("/admin/authtoken/tokenproxy/add/").status_code == 403
