"""The signed-in user's own account: the password page and the API tokens page, for every role."""

import datetime

import pytest
from rest_framework.test import APIClient

from core import services
from core.models import ApiToken

pytestmark = pytest.mark.django_db

OLD, NEW = "pw-for-tests-123", "a-brand-new-password-789"


def api_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_every_page_links_to_the_password_and_token_pages(client_for, make_user):
    html = client_for(make_user("nobody", role=None)).get("/").content.decode()
    assert 'href="/account/password/"' in html and 'href="/account/tokens/"' in html


def test_changing_the_password_keeps_this_session_and_kills_the_api_tokens(client_for, make_user, reference_data):
    user = make_user("changer", "viewer")
    _token, secret = services.api_token_create(user=user, name="CI")
    assert api_with(secret).get("/api/v1/partners/").status_code == 200
    client = client_for(user)
    page = client.get("/account/password/")
    assert page.status_code == 200 and 'name="old_password"' in page.content.decode()
    response = client.post(
        "/account/password/", {"old_password": OLD, "new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/account/password/"
    assert "Your password was changed" in response.content.decode()
    assert client.get("/").status_code == 200  # still signed in here
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert api_with(secret).get("/api/v1/partners/").status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_wrong_old_password_or_a_weak_new_one_is_shown_beside_the_field(client_for, make_user):
    user = make_user("changer", "viewer")
    client = client_for(user)
    response = client.post("/account/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 200
    assert 'data-for="id_old_password"' in response.content.decode()
    response = client.post("/account/password/", {"old_password": OLD, "new_password1": "123", "new_password2": "123"})
    assert 'data-for="id_new_password2"' in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(OLD)


def test_a_user_creates_a_token_seen_once_and_then_only_listed(client_for, make_user, reference_data):
    user = make_user("maker", "analyst")
    client = client_for(user)
    response = client.post("/account/tokens/", {"name": "Dashboard feed", "expires_in_days": "30"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # the secret stays out of every cache
    token = ApiToken.objects.get(user=user)
    html = response.content.decode()
    secret = html.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("et_") and token.digest not in html
    assert api_with(secret).get("/api/v1/partners/").status_code == 200
    listing = client.get("/account/tokens/").content.decode()
    assert "Dashboard feed" in listing and secret not in listing
    assert abs((token.expiry - token.created) - datetime.timedelta(days=30)) < datetime.timedelta(seconds=5)


def test_a_bad_lifetime_is_shown_beside_the_field(client_for, make_user, settings):
    settings.API_TOKEN_MAX_DAYS = 365
    client = client_for(make_user("maker", "viewer"))
    for value in ("400", "0", "soon", "9" * 40):
        response = client.post("/account/tokens/", {"name": "x", "expires_in_days": value})
        assert response.status_code == 400, value
        assert 'data-for="id_expires_in_days"' in response.content.decode(), value
    assert not ApiToken.objects.exists()


def test_a_user_revokes_their_own_token_and_never_sees_or_revokes_anothers(client_for, make_user, reference_data):
    owner, other = make_user("owner", "planner"), make_user("other", "admin", is_staff=True)
    mine, my_secret = services.api_token_create(user=owner, name="mine")
    theirs, their_secret = services.api_token_create(user=other, name="theirs-secret-name")
    client = client_for(owner)
    assert "theirs-secret-name" not in client.get("/account/tokens/").content.decode()
    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    assert api_with(their_secret).get("/api/v1/partners/").status_code == 200
    # Nor may the admin revoke the owner's token from their own page.
    assert client_for(other).post(f"/account/tokens/{mine.pk}/revoke/").status_code == 404
    client = client_for(owner)
    response = client.post(f"/account/tokens/{mine.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/tokens/"
    assert api_with(my_secret).get("/api/v1/partners/").status_code == 401
    assert client.get(f"/account/tokens/{mine.pk}/revoke/").status_code == 405
