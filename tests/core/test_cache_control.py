"""Answers to a signed-in user are never stored by a browser or a proxy; static files and anonymous
pages keep their caching."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.services import api_token_create

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/engagements/",
        "/engagements/?export=csv",
        "/engagements/import/template.xlsx",
        "/partners/GHA/",
        "/assessments/",
        "/api/v1/partners/",
        "/api/v1/engagements/",
        "/api/v1/nothing-here/",
    ],
)
def test_every_answer_to_a_signed_in_user_is_private(client_for, planner, reference_data, path):
    response = client_for(planner).get(path)
    assert response["Cache-Control"] == PRIVATE


def test_api_answers_to_a_token_are_private(planner, reference_data):
    client = APIClient()
    _token, secret = api_token_create(user=planner, name="cache check")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get("/api/v1/partners/GHA/")
    assert response.status_code == 200 and response["Cache-Control"] == PRIVATE


def test_anonymous_answers_keep_their_own_caching(db):
    client = Client()
    # The login page and /healthz say never_cache themselves; the middleware leaves them as they are.
    assert client.get("/accounts/login/")["Cache-Control"] != PRIVATE
    assert client.get("/healthz")["Cache-Control"] != PRIVATE
    assert "Cache-Control" not in client.get("/api/v1/partners/")


def test_static_files_keep_their_caching(client_for, planner, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()  # a new handler, so WhiteNoise reads the settings above
    client.force_login(planner)
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
