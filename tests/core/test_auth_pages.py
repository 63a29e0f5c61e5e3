import pytest

pytestmark = pytest.mark.django_db


def test_login_with_valid_credentials_lands_home_with_role_shown(client, planner):
    response = client.post("/accounts/login/", {"username": "planner1", "password": "pw-for-tests-123"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    html = response.content.decode()
    assert "planner1" in html
    assert "Planner" in html
    assert "Log out" in html


def test_login_with_a_wrong_password_shows_an_error_and_no_session(client, planner):
    response = client.post("/accounts/login/", {"username": "planner1", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_with_empty_fields_shows_field_errors(client):
    response = client.post("/accounts/login/", {"username": "", "password": ""})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2


def test_logout_ends_the_session(client, viewer):
    client.force_login(viewer)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_user_without_a_role_is_told_so(client, make_user):
    client.force_login(make_user("nobody", role=None))
    assert "Your account has no role yet" in client.get("/").content.decode()


def test_api_token_for_valid_credentials(client, make_user):
    make_user("integrator1", "planner")
    response = client.post("/api/v1/auth/token/", {"username": "integrator1", "password": "pw-for-tests-123"})
    assert response.status_code == 200
    token = response.json()["token"]
    assert token.startswith("et_") and len(token) == 67
    again = client.post("/api/v1/auth/token/", {"username": "integrator1", "password": "pw-for-tests-123"})
    assert again.json()["token"] != token  # each request makes a token of its own


def test_api_token_refused_for_bad_credentials(client, make_user):
    make_user("integrator1", "planner")
    response = client.post("/api/v1/auth/token/", {"username": "integrator1", "password": "nope"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "errors" in response.json()


def test_language_can_be_switched_before_login(client):
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/")
    assert '<html lang="fr">' in page.content.decode()
