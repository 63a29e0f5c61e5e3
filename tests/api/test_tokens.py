"""API tokens (DESIGN "Tokens"): hashed, named, expiring, several per user, revoked by their owner, dead
once the password changes or the user is deactivated; sent as `Token <t>` or `Bearer <t>`."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core import services
from core.models import ApiToken

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
TOKENS_URL = "/api/v1/auth/tokens/"
PASSWORD = "pw-for-tests-123"


def with_token(key: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def obtain(username: str, **extra) -> dict:
    response = APIClient().post(TOKEN_URL, {"username": username, "password": PASSWORD, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_password_gives_a_named_expiring_token_stored_only_as_a_hash(make_user, reference_data, settings):
    settings.API_TOKEN_DAYS = 90
    user = make_user("integrator2", "planner")
    before = timezone.now()
    body = obtain("integrator2", name="Reporting system")
    key = body["token"]
    expires = datetime.datetime.fromisoformat(body["expires_at"])
    assert datetime.timedelta(days=90) <= expires - before < datetime.timedelta(days=90, minutes=1)
    assert body["name"] == "Reporting system"
    stored = ApiToken.objects.get(user=user)
    assert stored.pk == body["id"] and stored.name == "Reporting system"
    # Nothing stored reveals the secret: the digest is a hash, the lookup key a short prefix.
    assert key not in {stored.digest, stored.token_key} and len(stored.token_key) < len(key) // 2
    assert key.startswith("et_")
    assert with_token(key).get("/api/v1/engagements/").status_code == 200
    # A new token each time: several per user, each working.
    second = obtain("integrator2", expires_in_days=7)["token"]
    assert second != key and ApiToken.objects.filter(user=user).count() == 2
    assert with_token(second).get("/api/v1/engagements/").status_code == 200
    assert with_token(key).get("/api/v1/engagements/").status_code == 200


def test_bearer_works_as_well_as_token(make_user, reference_data):
    make_user("integrator2", "planner")
    key = obtain("integrator2")["token"]
    assert with_token(key, "Bearer").get("/api/v1/partners/").status_code == 200
    assert with_token(key, "bearer").get("/api/v1/partners/").status_code == 200
    response = with_token("et_not-a-real-token", "Bearer").get("/api/v1/partners/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}


def test_anonymous_api_requests_get_401_with_a_challenge(reference_data):
    response = APIClient().get("/api/v1/partners/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("days", [0, -3, 366, 10**30, "soon"])
def test_lifetime_out_of_range_is_400_on_the_field(make_user, reference_data, settings, days):
    settings.API_TOKEN_MAX_DAYS = 365
    make_user("integrator2", "planner")
    response = APIClient().post(
        TOKEN_URL, {"username": "integrator2", "password": PASSWORD, "expires_in_days": days}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["expires_in_days"]
    assert not ApiToken.objects.exists()


def test_the_maximum_lifetime_is_accepted(make_user, reference_data, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    make_user("integrator2", "planner")
    body = obtain("integrator2", expires_in_days=30)
    assert datetime.datetime.fromisoformat(body["expires_at"]) - timezone.now() > datetime.timedelta(days=29)


def test_an_expired_token_is_refused(make_user, reference_data):
    make_user("integrator2", "planner")
    body = obtain("integrator2", expires_in_days=2)
    assert with_token(body["token"]).get("/api/v1/partners/").status_code == 200
    # Two days later (the clock moved, not the token).
    ApiToken.objects.filter(pk=body["id"]).update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    response = with_token(body["token"]).get("/api/v1/partners/")
    assert response.status_code == 401
    assert not ApiToken.objects.exists()  # found dead, cleared away


def test_wrong_password_is_400_in_the_error_shape(make_user, reference_data):
    make_user("integrator2", "planner")
    response = APIClient().post(TOKEN_URL, {"username": "integrator2", "password": "nope"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"]["non_field_errors"]
    response = APIClient().post(TOKEN_URL, {}, format="json")
    assert set(response.json()["errors"]) == {"username", "password"}
    assert not ApiToken.objects.exists()


def test_an_inactive_users_token_stops_working_at_once(make_user, reference_data):
    user = make_user("leaver", "planner")
    client = with_token(obtain("leaver")["token"])
    assert client.get("/api/v1/engagements/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/api/v1/engagements/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    # Nor can an inactive user get a new one.
    refused = APIClient().post(TOKEN_URL, {"username": "leaver", "password": PASSWORD}, format="json")
    assert refused.status_code == 400


def test_a_deactivated_users_tokens_stay_dead_after_reactivation(make_user, reference_data):
    user = make_user("returner", "planner")
    unused = with_token(obtain("returner")["token"])
    user.is_active = False
    user.save()  # as the admin's change form does
    assert not ApiToken.objects.filter(user=user).exists()
    user.is_active = True
    user.save()
    assert unused.get("/api/v1/engagements/").status_code == 401


def test_a_password_change_by_any_path_kills_the_users_tokens(make_user, reference_data):
    user = make_user("integrator2", "planner")
    other = make_user("bystander", "planner")
    first, second = obtain("integrator2")["token"], obtain("integrator2")["token"]
    bystander = obtain("bystander")["token"]
    # As the admin site or `changepassword` would do it: no service, just the model.
    user.set_password("a-brand-new-password-789")
    user.save()
    for key in (first, second):
        assert with_token(key).get("/api/v1/partners/").status_code == 401
    assert with_token(bystander).get("/api/v1/partners/").status_code == 200
    assert other.auth_token_set.count() == 1


def test_tokens_survive_a_secret_key_rotation(make_user, reference_data, settings):
    make_user("integrator2", "planner")
    key = obtain("integrator2")["token"]
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-rotation-test-0123456789abcdefghijkl"
    assert with_token(key).get("/api/v1/partners/").status_code == 200


def test_last_used_is_recorded(make_user, reference_data):
    make_user("integrator2", "planner")
    body = obtain("integrator2")
    assert ApiToken.objects.get(pk=body["id"]).last_used is None
    with_token(body["token"]).get("/api/v1/partners/")
    assert ApiToken.objects.get(pk=body["id"]).last_used is not None


def test_users_list_their_own_tokens_without_secrets(make_user, reference_data):
    make_user("integrator2", "planner")
    make_user("someone-else", "viewer")
    mine = obtain("integrator2", name="CI")
    obtain("someone-else", name="not yours")
    response = with_token(mine["token"]).get(TOKENS_URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["id"], row["name"]) for row in rows] == [(mine["id"], "CI")]
    assert set(rows[0]) == {"id", "name", "created", "expires_at", "last_used"}
    assert mine["token"] not in response.content.decode()


def test_users_revoke_their_own_tokens_and_never_anothers(make_user, reference_data):
    make_user("integrator2", "planner")
    make_user("someone-else", "admin", is_staff=True)
    mine, spare = obtain("integrator2"), obtain("integrator2")
    theirs = obtain("someone-else")
    client = with_token(mine["token"])
    # Another user's token is not found, even by an admin, and keeps working.
    assert client.delete(f"{TOKENS_URL}{theirs['id']}/").status_code == 404
    assert with_token(theirs["token"]).delete(f"{TOKENS_URL}{mine['id']}/").status_code == 404
    assert with_token(theirs["token"]).get("/api/v1/partners/").status_code == 200
    assert client.delete(f"{TOKENS_URL}{spare['id']}/").status_code == 204
    assert with_token(spare["token"]).get("/api/v1/partners/").status_code == 401
    assert client.get("/api/v1/partners/").status_code == 200
    assert client.delete(f"{TOKENS_URL}99999999999999999999/").status_code == 404


def test_a_user_holds_a_bounded_number_of_tokens(make_user, reference_data):
    from core.rules import API_TOKENS_PER_USER

    user = make_user("integrator2", "planner")
    for _ in range(API_TOKENS_PER_USER):
        services.api_token_create(user=user)
    response = APIClient().post(TOKEN_URL, {"username": "integrator2", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert "revoke one" in response.json()["errors"]["non_field_errors"][0]


def test_the_admin_lists_and_revokes_tokens_but_never_shows_a_secret(client, admin_user_role, make_user):
    integrator = make_user("integrator2", "planner")
    token, secret = services.api_token_create(user=integrator, name="Reporting system")
    client.force_login(admin_user_role)
    listing = client.get("/admin/core/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "integrator2" in page and "Reporting system" in page
    detail = client.get(f"/admin/core/apitoken/{token.pk}/change/").content.decode()
    for page in (listing.content.decode(), detail):
        assert secret not in page and token.digest not in page and token.token_key not in page
    assert client.get("/admin/core/apitoken/add/").status_code == 403
    response = client.post(f"/admin/core/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_drf_plain_text_tokens_are_gone():
    from django.apps import apps
    from django.db import connection

    assert not apps.is_installed("rest_framework.authtoken")
    assert "authtoken_token" not in connection.introspection.table_names()
